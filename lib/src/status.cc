#include "promdir/status.h"

#include <cerrno>
#include <cstring>

namespace promdir {

Status Status::FromErrno(std::string_view context, int err) {
  std::string msg(context);
  msg += ": ";
  msg += std::strerror(err);
  Status s;
  switch (err) {
    case ENOENT:
      s = NotFound(msg);
      break;
    case ENOSPC:
    case EDQUOT:
      s = NoSpace(msg);
      break;
    case EAGAIN:
      s = Busy(msg);
      break;
    default:
      s = IOError(msg);
  }
  s.os_error_ = err;
  return s;
}

std::string Status::ToString() const {
  const char* name = "OK";
  switch (code_) {
    case Code::kOk:
      return "OK";
    case Code::kNotFound:
      name = "NotFound";
      break;
    case Code::kCorruption:
      name = "Corruption";
      break;
    case Code::kIOError:
      name = "IOError";
      break;
    case Code::kInvalidArgument:
      name = "InvalidArgument";
      break;
    case Code::kNoSpace:
      name = "NoSpace";
      break;
    case Code::kBusy:
      name = "Busy";
      break;
  }
  return std::string(name) + ": " + message_;
}

}  // namespace promdir
