// Status and Result: errors as values.
//
// A Status is ok, or a code with a message that names what failed and where
// (the file, the flag or the value). Nothing in promdir throws on a bad file:
// a corrupt file is a Status the caller reports and skips.
//
// Thread safety: Status and Result are values; distinct objects may be used
// from distinct threads, a shared one only for reading.

#ifndef PROMDIR_STATUS_H_
#define PROMDIR_STATUS_H_

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace promdir {

class Status {
 public:
  enum class Code {
    kOk = 0,
    kNotFound,
    kCorruption,
    kIOError,
    kInvalidArgument,
    kNoSpace,
    kBusy,
  };

  // Creates an ok status.
  Status() = default;

  static Status OK() { return Status(); }
  static Status NotFound(std::string_view msg) { return {Code::kNotFound, msg}; }
  static Status Corruption(std::string_view msg) { return {Code::kCorruption, msg}; }
  static Status IOError(std::string_view msg) { return {Code::kIOError, msg}; }
  static Status InvalidArgument(std::string_view msg) {
    return {Code::kInvalidArgument, msg};
  }
  static Status NoSpace(std::string_view msg) { return {Code::kNoSpace, msg}; }
  static Status Busy(std::string_view msg) { return {Code::kBusy, msg}; }

  // Builds a status from an errno value: ENOENT becomes NotFound, ENOSPC and
  // EDQUOT NoSpace, EAGAIN (a held lock) Busy, everything else IOError.
  // The message is "<context>: <strerror(err)>".
  static Status FromErrno(std::string_view context, int err);

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  bool IsNotFound() const { return code_ == Code::kNotFound; }
  bool IsCorruption() const { return code_ == Code::kCorruption; }
  bool IsNoSpace() const { return code_ == Code::kNoSpace; }
  bool IsBusy() const { return code_ == Code::kBusy; }
  bool IsInvalidArgument() const { return code_ == Code::kInvalidArgument; }

  // The errno a status built by FromErrno came from; 0 for any other.
  // Lets a caller tell a transient failure (EMFILE, ENOMEM, EIO...) from a
  // permanent one without reading the message.
  int os_error() const { return os_error_; }

  // The message alone, without the code's name.
  const std::string& message() const { return message_; }
  // "OK", or "<Code name>: <message>".
  std::string ToString() const;

 private:
  Status(Code code, std::string_view msg) : code_(code), message_(msg) {}

  Code code_ = Code::kOk;
  int os_error_ = 0;
  std::string message_;
};

// Result<T> holds a T or a non-ok Status.
template <typename T>
class Result {
 public:
  Result(T value) : value_(std::move(value)) {}            // NOLINT
  Result(Status status) : status_(std::move(status)) {}    // NOLINT

  bool ok() const { return value_.has_value(); }
  const Status& status() const { return status_; }
  // REQUIRES: ok().
  T& value() & { return *value_; }
  const T& value() const& { return *value_; }
  T&& value() && { return std::move(*value_); }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }
  T& operator*() & { return *value_; }
  const T& operator*() const& { return *value_; }

 private:
  std::optional<T> value_;
  Status status_;
};

}  // namespace promdir

#endif  // PROMDIR_STATUS_H_
