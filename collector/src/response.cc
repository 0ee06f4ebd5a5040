#include "response.h"

#include <httplib.h>

#include <algorithm>
#include <memory>

#include "gzip.h"
#include "negotiation.h"

namespace promdir::http {
namespace {
constexpr size_t kWriteChunk = 64 * 1024;

void Send(const httplib::Request& req, httplib::Response* res, int status,
          std::string body, std::string_view content_type, int gzip_level,
          std::string_view vary_extra, bool close) {
  res->status = status;
  std::string vary = "Accept-Encoding";
  if (!vary_extra.empty()) vary = std::string(vary_extra) + ", " + vary;
  res->set_header("Vary", vary);
  auto payload = std::make_shared<std::string>();
  if (AcceptsGzip(req.get_header_value("Accept-Encoding"))) {
    Status s = GzipCompress(body, gzip_level, payload.get());
    if (s.ok()) {
      res->set_header("Content-Encoding", "gzip");
    } else {
      *payload = std::move(body);  // identity is always acceptable
    }
  } else {
    *payload = std::move(body);
  }
  size_t length = payload->size();
  res->set_content_provider(
      length, std::string(content_type),
      [payload, close](size_t offset, size_t length, httplib::DataSink& sink) {
        size_t n = std::min({length, kWriteChunk, payload->size() - offset});
        bool written = sink.write(payload->data() + offset, n);
        // Failing the provider after the last byte is how the library is
        // made to close the connection.
        return written && !(close && offset + n == payload->size());
      });
}

}  // namespace

void SendBody(const httplib::Request& req, httplib::Response* res, int status,
              std::string body, std::string_view content_type, int gzip_level,
              std::string_view vary_extra) {
  Send(req, res, status, std::move(body), content_type, gzip_level, vary_extra,
       false);
}

void SendText(const httplib::Request& req, httplib::Response* res, int status,
              std::string_view text, int gzip_level, bool close) {
  std::string body(text);
  if (body.empty() || body.back() != '\n') body.push_back('\n');
  if (close) res->set_header("Connection", "close");
  Send(req, res, status, std::move(body), "text/plain; charset=utf-8",
       gzip_level, {}, close);
}

}  // namespace promdir::http
