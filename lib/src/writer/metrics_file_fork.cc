// MetricsFile after fork(): forgetting the parent's file in the fork
// handler, making the child's own at its first write; and detaching.

#include <algorithm>
#include <cstring>
#include <deque>
#include <mutex>

#include "lib/src/format.h"
#include "lib/src/writer/file_store.h"
#include "lib/src/writer/metrics_file.h"

namespace promdir::writer {

detail::WriteGate* NewGate() {
  // Handles keep gate pointers for the life of the process.
  static auto* gates = new std::deque<detail::WriteGate>();
  return &gates->emplace_back();
}

void MetricsFile::ForgetInChild() {
  if (fd_ < 0) return;  // detached, or already forgotten
  gate_->closed.store(true, std::memory_order_relaxed);
  // Zero pages at the same addresses: the handles read 0 (this process's
  // own values) and the mappings no longer pin the parent's open file
  // description, whose lock says the parent is alive.
  for (const Region& r : regions_) {
    void* addr = nullptr;
    env_->MapAnonymous(r.length, r.addr, &addr);
  }
  env_->Close(fd_);
  fd_ = -1;
  forked_ = true;
}

std::string MetricsFile::ZeroedImage() const {
  std::string data(used_, '\0');
  format::EncodeHeader(used_, /*writer_mark=*/true, data.data());
  for (const auto& [key, value_off] : index_) {
    size_t start = value_off - format::ValueOffset(key.size());
    format::EncodeEntryKey(key, data.data() + start);
    auto c = configs_.find(value_off);
    if (c != configs_.end()) {
      std::memcpy(data.data() + value_off, c->second.data(), c->second.size());
    }
  }
  return data;
}

Status MetricsFile::MakeOwnFile() {
  if (!forked_) return Status::OK();
  forked_ = false;
  std::string id = std::to_string(env_->GetPid());
  std::string data = ZeroedImage();
  Status s;
  int fd = -1;
  std::string new_id, new_path;
  for (int n = 0; n < 100 && fd < 0; ++n) {
    new_id = n == 0 ? id : id + "-" + std::to_string(n);
    new_path = FilePath(dir_, prefix_, new_id);
    FileInfo info;
    if (env_->LinkStat(new_path, &info).ok()) continue;  // taken
    bool existed = false;
    s = CreateComplete(env_, dir_, new_path, data, capacity_, &fd, &existed);
    if (!s.ok() && !existed) break;  // a real error
  }
  for (const Region& r : regions_) {
    if (fd < 0) break;
    void* addr = nullptr;
    s = env_->Map(fd, r.length, r.addr, &addr);
    if (!s.ok()) {
      // Ranges already mapped on the new file go back to zero pages.
      for (const Region& back : regions_) {
        env_->MapAnonymous(back.length, back.addr, &addr);
      }
      s = Annotate(s, "map " + new_path);
      env_->Close(fd);
      env_->Unlink(new_path);
      fd = -1;
    }
  }
  if (fd < 0 && s.ok())
    s = Status::IOError("no free file name for " + new_path);
  if (fd >= 0) {
    fd_ = fd;
    id_ = new_id;
    path_ = new_path;
  }
  gate_->closed.store(false, std::memory_order_release);
  return s;
}

void MetricsFile::Detach() {
  forked_ = false;
  if (fd_ >= 0) {
    // Handles point below capacity_: keep that much of each mapping as
    // private memory and give the rest of the range back.
    size_t keep = (capacity_ + 4095) / 4096 * 4096;
    for (Region& r : regions_) {
      void* addr = nullptr;
      size_t k = std::min(keep, r.length);
      if (env_->MapAnonymous(k, r.addr, &addr).ok() && k < r.length) {
        env_->Unmap(r.addr + k, r.length - k);
        r.length = k;
      }
    }
    env_->Close(fd_);
    fd_ = -1;
  }
  gate_->closed.store(false, std::memory_order_release);
}

}  // namespace promdir::writer
