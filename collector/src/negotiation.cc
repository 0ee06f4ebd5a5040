#include "negotiation.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>

namespace promdir::http {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Splits on `sep` outside double quotes.
std::vector<std::string_view> SplitUnquoted(std::string_view s, char sep) {
  std::vector<std::string_view> parts;
  bool quoted = false;
  size_t start = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '"') quoted = !quoted;
    if (s[i] == '\\' && quoted) {
      ++i;
      continue;
    }
    if (s[i] == sep && !quoted) {
      parts.push_back(s.substr(start, i - start));
      start = i + 1;
    }
  }
  parts.push_back(s.substr(start));
  return parts;
}

std::string Unquote(std::string_view v) {
  if (v.size() < 2 || v.front() != '"' || v.back() != '"') return std::string(v);
  std::string out;
  for (size_t i = 1; i + 1 < v.size(); ++i) {
    if (v[i] == '\\' && i + 2 < v.size()) ++i;
    out.push_back(v[i]);
  }
  return out;
}

// RFC 9110 qvalue: 0, 1, 0.xxx, 1.000. Anything else counts as 0.
double ParseQ(std::string_view text) {
  if (text.empty() || text.size() > 5) return 0;
  if (text[0] != '0' && text[0] != '1') return 0;
  if (text.size() > 1) {
    if (text[1] != '.') return 0;
    for (size_t i = 2; i < text.size(); ++i) {
      if (!std::isdigit(static_cast<unsigned char>(text[i]))) return 0;
      if (text[0] == '1' && text[i] != '0') return 0;
    }
  }
  return std::strtod(std::string(text).c_str(), nullptr);
}

struct Offer {
  ExpositionFormat format;
  std::string_view type;
  std::string_view subtype;
  std::string_view version;  // empty: no version parameter (protobuf)
  bool unversioned;          // a range without version means this one
};

// In this order on a full tie (all matched by the same range): text 0.0.4
// first, so `*/*` gets it.
constexpr Offer kOffers[] = {
    {ExpositionFormat::kText004, "text", "plain", "0.0.4", true},
    {ExpositionFormat::kOpenMetrics100, "application", "openmetrics-text", "1.0.0", true},
    {ExpositionFormat::kText100, "text", "plain", "1.0.0", false},
    {ExpositionFormat::kOpenMetrics001, "application", "openmetrics-text", "0.0.1", false},
    {ExpositionFormat::kProtobuf, "application", "vnd.google.protobuf", "", true},
};

std::string_view Param(const HeaderElement& range, std::string_view name) {
  for (const auto& [n, value] : range.params) {
    if (n == name) return value;
  }
  return {};
}

// How specifically `range` matches `offer`: -1 no match, 0 */*, 1 type/*,
// 2 type/subtype, 3 type/subtype;version=V (protobuf: with
// proto=io.prometheus.client.MetricFamily; encoding, if given, delimited).
int Specificity(const HeaderElement& range, const Offer& offer) {
  std::string_view v = range.value;
  size_t slash = v.find('/');
  if (slash == std::string_view::npos) return v == "*" ? 0 : -1;
  std::string_view type = v.substr(0, slash);
  std::string_view subtype = v.substr(slash + 1);
  if (type == "*" && subtype == "*") return 0;
  if (type != offer.type) return -1;
  if (subtype == "*") return 1;
  if (subtype != offer.subtype) return -1;
  if (offer.version.empty()) {
    std::string proto = Lower(Param(range, "proto"));
    std::string encoding = Lower(Param(range, "encoding"));
    if (!encoding.empty() && encoding != "delimited") return -1;
    if (proto.empty()) return 2;
    return proto == "io.prometheus.client.metricfamily" ? 3 : -1;
  }
  for (const auto& [name, value] : range.params) {
    if (name == "version") return value == offer.version ? 3 : -1;
  }
  return offer.unversioned ? 2 : -1;
}

}  // namespace

std::vector<HeaderElement> ParseHeaderList(std::string_view header) {
  std::vector<HeaderElement> out;
  int position = 0;
  for (std::string_view element : SplitUnquoted(header, ',')) {
    std::vector<std::string_view> parts = SplitUnquoted(element, ';');
    std::string_view value = Trim(parts[0]);
    if (value.empty()) continue;
    HeaderElement e;
    e.value = Lower(value);
    e.position = position++;
    for (size_t i = 1; i < parts.size(); ++i) {
      std::string_view p = Trim(parts[i]);
      if (p.empty()) continue;
      size_t eq = p.find('=');
      std::string name = Lower(Trim(p.substr(0, eq)));
      std::string val =
          eq == std::string_view::npos ? "" : Unquote(Trim(p.substr(eq + 1)));
      if (name == "q") {
        e.q = ParseQ(val);
      } else {
        e.params.emplace_back(std::move(name), std::move(val));
      }
    }
    out.push_back(std::move(e));
  }
  return out;
}

Exposition NegotiateFormat(std::string_view accept) {
  if (Trim(accept).empty()) return ExpositionFormat::kText004;
  std::vector<HeaderElement> ranges = ParseHeaderList(accept);
  Exposition best = ExpositionFormat::kText004;
  double best_q = 0;
  int best_position = 1 << 30;
  for (const Offer& offer : kOffers) {
    int specificity = -1;
    const HeaderElement* match = nullptr;
    for (const HeaderElement& r : ranges) {
      int s = Specificity(r, offer);
      if (s > specificity) {
        specificity = s;
        match = &r;
      }
    }
    if (match == nullptr || match->q <= 0) continue;
    if (match->q > best_q ||
        (match->q == best_q && match->position < best_position)) {
      best = offer.format;
      // An unknown scheme, or none, gets underscores.
      ParseNameEscaping(Lower(Param(*match, "escaping")), &best.escaping);
      best_q = match->q;
      best_position = match->position;
    }
  }
  return best;
}

bool AcceptsGzip(std::string_view accept_encoding) {
  double gzip_q = -1;
  double star_q = -1;
  for (const HeaderElement& e : ParseHeaderList(accept_encoding)) {
    if (e.value == "gzip" || e.value == "x-gzip") {
      gzip_q = std::max(gzip_q, e.q);
    } else if (e.value == "*") {
      star_q = std::max(star_q, e.q);
    }
  }
  if (gzip_q >= 0) return gzip_q > 0;
  return star_q > 0;
}

}  // namespace promdir::http
