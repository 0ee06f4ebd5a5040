#include "lib/src/writer/metrics_file.h"

#include <fcntl.h>

#include <algorithm>
#include <cerrno>
#include <atomic>
#include <cstring>
#include <string_view>

#include "lib/src/format.h"
#include "lib/src/key_codec.h"
#include "lib/src/native_format.h"
#include "promdir/directory_env.h"
#include "lib/src/path.h"

namespace promdir::writer {

namespace {

ValueLayout OtherLayout(ValueLayout l) {
  return l == ValueLayout::k8 ? ValueLayout::k16 : ValueLayout::k8;
}

}  // namespace

Status Annotate(const Status& s, const std::string& context) {
  std::string msg = context + ": " + s.message();
  switch (s.code()) {
    case Status::Code::kOk:
      return s;
    case Status::Code::kNotFound:
      return Status::NotFound(msg);
    case Status::Code::kCorruption:
      return Status::Corruption(msg);
    case Status::Code::kInvalidArgument:
      return Status::InvalidArgument(msg);
    case Status::Code::kNoSpace:
      return Status::NoSpace(msg);
    case Status::Code::kBusy:
      return Status::Busy(msg);
    case Status::Code::kIOError:
      break;
  }
  return Status::IOError(msg);
}

std::string FilePath(const std::string& dir, const std::string& prefix,
                     const std::string& id) {
  if (prefix == native::kPrefix) return JoinPath(dir, native::FileName(id));
  return JoinPath(dir, format::MakeFileName(prefix, id));
}

bool MetricsFile::native() const { return prefix_ == native::kPrefix; }

namespace {

// `temp` exists: it carries this process's pid, so it was left by a writer
// killed while it created a file, whose pid this process now has (or, in
// another pid namespace sharing the directory, it is being created by a
// writer with the same pid: that one holds its lock). Deletes the name
// (never what a symlink there points to) unless a live writer holds it.
Status RemoveStaleOwnTemp(Env* env, const std::string& temp) {
  int fd = -1;
  Status s = env->Open(temp, O_RDWR | O_NOFOLLOW | O_NONBLOCK, 0, &fd);
  if (s.ok()) {
    FileInfo info;
    if (env->Stat(fd, &info).ok() && info.is_regular &&
        env->TryLock(fd).IsBusy()) {
      env->Close(fd);
      return Status::Busy(temp + " is being created by another process");
    }
  }
  Status u = env->Unlink(temp);  // while holding its lock, if we have it
  if (fd >= 0) env->Close(fd);
  return u.IsNotFound() ? Status::OK() : u;
}

}  // namespace

Status CreateComplete(Env* env, const std::string& dir, const std::string& path,
                      std::string_view contents, uint64_t size, int* fd,
                      bool* existed) {
  *existed = false;
  std::string base = path.substr(dir.size() + 1);
  std::string temp =
      JoinPath(dir, format::WriterTempName(base, env->GetPid()));
  // Exclusive, never through a symlink: a name found there is never used.
  const int flags = O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW;
  Status s = env->Open(temp, flags, 0666, fd);
  if (!s.ok() && s.os_error() == EEXIST) {
    s = RemoveStaleOwnTemp(env, temp);
    if (s.ok()) s = env->Open(temp, flags, 0666, fd);
  }
  if (!s.ok()) return s;
  s = env->TryLock(*fd);
  if (s.ok()) s = env->Allocate(*fd, size);
  if (s.ok()) s = env->WriteAt(*fd, 0, contents.data(), contents.size());
  if (s.ok()) {
    s = env->RenameNoReplace(temp, path);
    FileInfo info;
    if (!s.ok() && env->LinkStat(path, &info).ok()) *existed = true;
  }
  if (!s.ok()) {
    env->Close(*fd);
    env->Unlink(temp);
    *fd = -1;
    return Annotate(s, "create " + path);
  }
  return Status::OK();
}

size_t ReserveFor(uint64_t size) {
  size_t r = kInitialReserve;
  while (r < size) r *= 2;
  return r;
}

MetricsFile::MetricsFile() : gate_(NewGate()) {}

Status MetricsFile::AddRegion(size_t length) {
  void* addr = nullptr;
  Status s = env_->Map(fd_, length, nullptr, &addr);
  if (!s.ok()) return Annotate(s, "map " + path_);
  regions_.push_back(Region{static_cast<char*>(addr), length});
  base_ = static_cast<char*>(addr);
  return Status::OK();
}

Status WalkEntries(std::string_view data, ValueLayout layout,
                   std::vector<std::string>* keys,
                   std::vector<uint32_t>* value_offsets) {
  keys->clear();
  value_offsets->clear();
  Status bad_key;
  format::WalkProblem p = format::WalkEntries(
      data, format::kHeaderSize, layout,
      [&](uint64_t pos, std::string_view key, uint64_t value_offset) {
        DecodedKey decoded;
        Status s = DecodeKey(key, &decoded);
        if (!s.ok()) {
          bad_key = Status::Corruption("key at offset " + std::to_string(pos) +
                                       ": " + s.message());
          return false;
        }
        keys->emplace_back(key);
        value_offsets->push_back(static_cast<uint32_t>(value_offset));
        return true;
      });
  if (!p.ok()) {
    return Status::Corruption(format::DescribeWalkProblem(p, data.size()));
  }
  return bad_key;
}

namespace {

// Creates the file at `path` complete (header written, sized), or opens the
// one that is there (or appeared meanwhile). *created says which.
Status OpenOrCreate(Env* env, const std::string& dir, const std::string& path,
                    int* fd, bool* created) {
  *created = false;
  FileInfo existing;
  if (env->LinkStat(path, &existing).IsNotFound()) {
    char header[format::kHeaderSize];
    format::EncodeHeader(format::kHeaderSize, /*writer_mark=*/true, header);
    bool existed = false;
    Status s = CreateComplete(env, dir, path,
                              std::string_view(header, sizeof(header)),
                              format::kInitialFileSize, fd, &existed);
    if (!s.ok() && !existed) return s;
    *created = s.ok();
    if (*created) return s;
  }
  return env->Open(path, O_RDWR | O_CREAT | O_NOFOLLOW, 0666, fd);
}

}  // namespace

Status MetricsFile::Open(Env* env, const std::string& dir,
                         const std::string& prefix, const std::string& id,
                         ValueLayout layout, std::unique_ptr<MetricsFile>* out,
                         int attempt) {
  std::unique_ptr<MetricsFile> f(new MetricsFile());
  // Every file operation relative to the directory, opened once.
  Env* const base = env;  // for a retry: its own DirectoryEnv
  env = DirectoryEnv::Bind(env, dir, &f->own_env_);
  f->env_ = env;
  f->dir_ = dir;
  f->prefix_ = prefix;
  f->id_ = id;
  f->path_ = FilePath(dir, prefix, id);
  f->layout_ = layout;
  const std::string& path = f->path_;

  // Never write through a symbolic link or into something not a file.
  FileInfo existing;
  if (env->LinkStat(path, &existing).ok() &&
      (existing.is_symlink || !existing.is_regular)) {
    return Status::Corruption(path + " is not a regular file");
  }
  int fd = -1;
  bool created = false;
  Status s = OpenOrCreate(env, dir, path, &fd, &created);
  if (!s.ok()) return s;
  auto fail = [&](const Status& st) {
    env->Close(fd);
    return st;
  };
  FileInfo info;
  if (!created) {
    s = env->TryLock(fd);
    if (s.IsBusy())
      return fail(Status::Busy(path + " is locked by a live writer"));
    if (!s.ok()) return fail(Annotate(s, "lock " + path));
    // The lock must be on the file that still has this name: a compactor
    // may have moved the file away between our open and our lock, and a
    // writer that kept the moved copy would count into a file that is
    // being folded. If the name now points elsewhere (or nowhere), start
    // again with whatever the name holds now.
    FileInfo named;
    s = env->Stat(fd, &info);
    if (!s.ok()) return fail(Annotate(s, "stat " + path));
    Status ns = env->LinkStat(path, &named);
    if (!ns.ok() || named.device != info.device || named.inode != info.inode) {
      env->Close(fd);
      if (attempt >= 8) {
        return Status::Busy(path + " keeps being replaced while it is opened");
      }
      return Open(base, dir, prefix, id, layout, out, attempt + 1);
    }
  }
  s = env->Stat(fd, &info);
  if (!s.ok()) return fail(Annotate(s, "stat " + path));
  f->fd_ = fd;
  if (created) {
    f->capacity_ = format::kInitialFileSize;
    f->used_ = format::kHeaderSize;
  } else if (info.size == 0) {
    // An empty file left by a writer that died before sizing it (Python's
    // writer creates files that way): initialise it in place.
    s = env->Allocate(fd, format::kInitialFileSize);
    if (!s.ok()) {
      f->fd_ = -1;
      return fail(Annotate(s, "allocate " + path));
    }
    char header[format::kHeaderSize];
    format::EncodeHeader(format::kHeaderSize, /*writer_mark=*/true, header);
    s = env->WriteAt(fd, 0, header, sizeof(header));
    if (!s.ok()) {
      f->fd_ = -1;
      return fail(Annotate(s, "write " + path));
    }
    f->capacity_ = format::kInitialFileSize;
    f->used_ = format::kHeaderSize;
  } else {
    s = f->LoadExisting(info.size, layout);
    if (!s.ok()) {
      f->fd_ = -1;
      return fail(s);
    }
  }
  s = f->AddRegion(ReserveFor(f->capacity_));
  if (!s.ok()) {
    f->fd_ = -1;
    if (created) env->Unlink(path);
    return fail(s);
  }
  *out = std::move(f);
  return Status::OK();
}

Status MetricsFile::LoadExisting(uint64_t size, ValueLayout preferred) {
  if (size < format::kHeaderSize) {
    return Status::Corruption(path_ + ": file of " + std::to_string(size) +
                              " bytes is shorter than its header");
  }
  if (size > kMaxFileSize) {
    return Status::Corruption(path_ + ": file of " + std::to_string(size) +
                              " bytes is larger than a writer maps");
  }
  char header[format::kHeaderSize];
  size_t got = 0;
  Status s = env_->ReadAt(fd_, 0, header, sizeof(header), &got);
  if (!s.ok()) return Annotate(s, "read " + path_);
  // A file without promdir's magic was written by a client that takes no
  // lock (Python's): if its id is the pid of another live process, that
  // process may still be writing it.
  bool numeric =
      !id_.empty() && id_.find_first_not_of("0123456789") == std::string::npos;
  if (!format::HasWriterMark(header) && numeric && id_.size() < 10) {
    int pid = std::stoi(id_);
    if (pid != env_->GetPid() && env_->PidExists(pid)) {
      return Status::Busy(path_ + " belongs to live process " + id_ +
                          " (a writer that takes no lock)");
    }
  }
  int32_t used;
  std::memcpy(&used, header, 4);
  if (used == 0) used = format::kHeaderSize;  // created, never initialised
  if (used < static_cast<int32_t>(format::kHeaderSize) ||
      static_cast<uint64_t>(used) > size) {
    return Status::Corruption(path_ + ": used (" + std::to_string(used) +
                              ") is outside the file (" + std::to_string(size) +
                              " bytes)");
  }
  std::string data(static_cast<size_t>(used), '\0');
  s = env_->ReadAt(fd_, 0, data.data(), data.size(), &got);
  if (!s.ok()) return Annotate(s, "read " + path_);
  if (got != data.size()) {
    return Status::Corruption(path_ + ": shorter than used while reading");
  }
  std::vector<std::string> keys;
  std::vector<uint32_t> offsets;
  ValueLayout layout = preferred;
  if (native()) {
    uint64_t pos = format::kHeaderSize;
    std::string why = native::WalkEntries(
        data, &pos, true, [&](const native::EntryRef& e) {
          keys.emplace_back(e.key);
          offsets.push_back(static_cast<uint32_t>(e.payload_offset));
          configs_[offsets.back()] = std::string(
              data.substr(e.payload_offset, native::kConfigSize));
        });
    s = why.empty() ? Status::OK() : Status::Corruption(why);
  } else {
    s = WalkEntries(data, layout, &keys, &offsets);
  }
  if (!s.ok() && native()) {
    return Status::Corruption(path_ + ": not a native histogram file (" +
                              s.message() + ")");
  }
  if (!s.ok()) {
    Status first = s;
    layout = OtherLayout(preferred);
    s = WalkEntries(data, layout, &keys, &offsets);
    if (!s.ok()) {
      return Status::Corruption(path_ +
                                ": not a metrics file in either layout (" +
                                first.message() + ")");
    }
  }
  // Reserve the sparse tail, so appends into it cannot SIGBUS.
  s = env_->Allocate(fd_, size);
  if (!s.ok()) return Annotate(s, "allocate " + path_);
  // Mark the file as a promdir writer's (and a valid `used`).
  format::EncodeHeader(static_cast<uint32_t>(used), /*writer_mark=*/true,
                       header);
  s = env_->WriteAt(fd_, 0, header, sizeof(header));
  if (!s.ok()) return Annotate(s, "write " + path_);
  layout_ = layout;
  capacity_ = size;
  used_ = static_cast<uint32_t>(used);
  for (size_t i = 0; i < keys.size(); ++i) {
    index_.emplace(std::move(keys[i]), offsets[i]);
  }
  value_offsets_ = std::move(offsets);
  return Status::OK();
}

MetricsFile::~MetricsFile() = default;

Status MetricsFile::Reserve(size_t key_size, size_t entry) {
  if (forked_) {
    Status s = MakeOwnFile();
    if (!s.ok()) return s;
  }
  if (fd_ < 0) {
    return Status::IOError(path_ + " is no longer written by this process");
  }
  uint64_t need = uint64_t{used_} + entry;
  if (key_size > static_cast<size_t>(format::kMaxKeyLength) ||
      need > kMaxFileSize) {
    return Status::NoSpace(path_ + ": entry of " + std::to_string(entry) +
                           " bytes does not fit in a writer's file (at most " +
                           std::to_string(kMaxFileSize) + " bytes)");
  }
  if (need > capacity_) {
    uint64_t cap = capacity_;
    while (cap < need) cap *= 2;
    if (cap > kMaxFileSize) cap = kMaxFileSize;
    Status s = env_->Allocate(fd_, cap);
    if (!s.ok()) {
      return Annotate(
          s, "grow " + path_ + " to " + std::to_string(cap) + " bytes");
    }
    if (cap > regions_.back().length) {
      // Handles keep pointing into the older mappings.
      s = AddRegion(std::max(ReserveFor(cap), 2 * regions_.back().length));
      if (!s.ok()) return s;
    }
    capacity_ = cap;
  }
  return Status::OK();
}

char* MetricsFile::WriteKey(const std::string& key) {
  char* p = base_ + used_;
  return p + format::EncodeEntryKey(key, p);
}

uint32_t MetricsFile::Publish(const std::string& key, size_t entry) {
  uint32_t need = used_ + static_cast<uint32_t>(entry);
  std::atomic_ref<int32_t>(*reinterpret_cast<int32_t*>(base_))
      .store(static_cast<int32_t>(need), std::memory_order_release);
  uint32_t abs = used_ + static_cast<uint32_t>(format::ValueOffset(key.size()));
  used_ = need;
  index_.emplace(key, abs);
  value_offsets_.push_back(abs);
  return abs;
}

Result<double*> MetricsFile::FindOrAppend(const std::string& key) {
  auto it = index_.find(key);
  if (it != index_.end()) return reinterpret_cast<double*>(base_ + it->second);
  size_t entry = format::EntrySize(key.size(), layout_);
  Status s = Reserve(key.size(), entry);
  if (!s.ok()) return s;
  std::memset(WriteKey(key), 0, format::ValueSize(layout_));
  return reinterpret_cast<double*>(base_ + Publish(key, entry));
}

Result<char*> MetricsFile::FindOrAppendNative(const std::string& key,
                                              const std::string& config) {
  auto it = index_.find(key);
  if (it != index_.end()) return base_ + it->second;
  uint32_t size;
  std::memcpy(&size, config.data(), 4);
  size_t entry = format::ValueOffset(key.size()) + size;
  Status s = Reserve(key.size(), entry);
  if (!s.ok()) return s;
  char* payload = WriteKey(key);
  std::memcpy(payload, config.data(), config.size());
  std::memset(payload + config.size(), 0, size - config.size());
  uint32_t abs = Publish(key, entry);
  configs_[abs] = config;
  return base_ + abs;
}

}  // namespace promdir::writer
