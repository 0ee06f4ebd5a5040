#include "lib/src/float_format.h"

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>

namespace promdir {

void AppendPythonRepr(double d, std::string* out) {
  if (std::isnan(d)) {
    out->append("nan");
    return;
  }
  if (std::isinf(d)) {
    out->append(d > 0 ? "inf" : "-inf");
    return;
  }
  if (d == 0) {
    out->append(std::signbit(d) ? "-0.0" : "0.0");
    return;
  }
  // Shortest round-trip digits, in scientific form "d.ddde+XX".
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof(buf), d,
                           std::chars_format::scientific);
  std::string_view sci(buf, res.ptr - buf);
  bool negative = sci.front() == '-';
  if (negative) sci.remove_prefix(1);
  size_t e = sci.find('e');
  std::string digits;
  for (char c : sci.substr(0, e)) {
    if (c != '.') digits.push_back(c);
  }
  int exp10 = 0;
  std::string_view exp_text = sci.substr(e + 1);
  if (!exp_text.empty() && exp_text.front() == '+') exp_text.remove_prefix(1);
  std::from_chars(exp_text.data(), exp_text.data() + exp_text.size(), exp10);
  const int decpt = exp10 + 1;  // digits are 0.DIGITS * 10^decpt
  const int n = static_cast<int>(digits.size());

  if (negative) out->push_back('-');
  if (decpt > -4 && decpt <= 16) {
    if (decpt <= 0) {
      out->append("0.");
      out->append(static_cast<size_t>(-decpt), '0');
      out->append(digits);
    } else if (decpt >= n) {
      out->append(digits);
      out->append(static_cast<size_t>(decpt - n), '0');
      out->append(".0");
    } else {
      out->append(digits, 0, decpt);
      out->push_back('.');
      out->append(digits, decpt);
    }
    return;
  }
  out->push_back(digits[0]);
  if (n > 1) {
    out->push_back('.');
    out->append(digits, 1);
  }
  out->push_back('e');
  out->push_back(exp10 < 0 ? '-' : '+');
  int mag = exp10 < 0 ? -exp10 : exp10;
  if (mag < 10) out->push_back('0');
  out->append(std::to_string(mag));
}

void AppendGoFloat(double d, std::string* out) {
  if (std::isinf(d)) {
    out->append(d > 0 ? "+Inf" : "-Inf");
    return;
  }
  if (std::isnan(d)) {
    out->append("NaN");
    return;
  }
  std::string s;
  AppendPythonRepr(d, &s);
  size_t dot = s.find('.');
  if (d > 0 && dot != std::string::npos && dot > 6) {
    // Go switches to exponents sooner than Python.
    std::string mantissa =
        s.substr(0, 1) + "." + s.substr(1, dot - 1) + s.substr(dot + 1);
    while (!mantissa.empty() &&
           (mantissa.back() == '0' || mantissa.back() == '.')) {
      mantissa.pop_back();
    }
    out->append(mantissa);
    out->append("e+0");
    out->append(std::to_string(dot - 1));
    return;
  }
  out->append(s);
}

std::string GoFloat(double d) {
  std::string s;
  AppendGoFloat(d, &s);
  return s;
}

namespace {
bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}
}  // namespace

std::optional<double> ParsePythonFloat(std::string_view text) {
  while (!text.empty() && std::strchr(" \t\n\r\f\v", text.front())) {
    text.remove_prefix(1);
  }
  while (!text.empty() && std::strchr(" \t\n\r\f\v", text.back())) {
    text.remove_suffix(1);
  }
  if (text.empty()) return std::nullopt;
  bool negative = false;
  std::string_view body = text;
  if (body.front() == '+' || body.front() == '-') {
    negative = body.front() == '-';
    body.remove_prefix(1);
  }
  if (EqualsIgnoreCase(body, "inf") || EqualsIgnoreCase(body, "infinity")) {
    return negative ? -HUGE_VAL : HUGE_VAL;
  }
  if (EqualsIgnoreCase(body, "nan")) return std::nan("");
  if (body.empty() || body.front() == '+' || body.front() == '-') {
    return std::nullopt;
  }
  // Underscores group digits (PEP 515): each between two digits, then gone.
  std::string digits;
  digits.reserve(body.size());
  auto is_digit = [](char c) { return c >= '0' && c <= '9'; };
  for (size_t i = 0; i < body.size(); ++i) {
    char c = body[i];
    if (c == '_') {
      if (i == 0 || i + 1 == body.size() || !is_digit(body[i - 1]) ||
          !is_digit(body[i + 1])) {
        return std::nullopt;
      }
      continue;
    }
    if (!(is_digit(c) || c == '.' || c == 'e' || c == 'E' || c == '+' ||
          c == '-')) {
      return std::nullopt;
    }
    digits.push_back(c);
  }
  double value = 0;
  const char* end = digits.data() + digits.size();
  auto res = std::from_chars(digits.data(), end, value);
  if (res.ptr != end) return std::nullopt;
  if (res.ec == std::errc::result_out_of_range) {
    // Python rounds as strtod does: 1e999 is inf, 1e-999 is 0.
    value = std::strtod(digits.c_str(), nullptr);
  } else if (res.ec != std::errc()) {
    return std::nullopt;
  }
  return negative ? -value : value;
}

}  // namespace promdir
