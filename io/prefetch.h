// Background producer with a bounded queue: a thread calls produce() ahead of the consumer, up to
// `depth` results, and stops at the first exception, which next() rethrows once the results made
// before it are consumed. The destructor stops and joins the thread even while it waits on a full
// queue (a produce() call already running is finished first).
#pragma once
#include <condition_variable>
#include <deque>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>

#include "core/check.h"

namespace ckf {

template <class T>
class Prefetcher {
 public:
  Prefetcher(std::function<T()> produce, size_t depth) : produce_(std::move(produce)), depth_(depth) {
    CKF_CHECK(depth >= 1, "prefetch depth must be at least 1");
    thread_ = std::thread([this] { run(); });
  }
  ~Prefetcher() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    space_.notify_all();
    thread_.join();
  }
  Prefetcher(const Prefetcher&) = delete;
  Prefetcher& operator=(const Prefetcher&) = delete;

  T next() {
    std::unique_lock<std::mutex> lock(mu_);
    ready_.wait(lock, [&] { return !queue_.empty() || error_; });
    if (queue_.empty()) std::rethrow_exception(error_);
    T out = std::move(queue_.front());
    queue_.pop_front();
    space_.notify_one();
    return out;
  }

 private:
  void run() {
    for (;;) {
      {
        std::unique_lock<std::mutex> lock(mu_);
        space_.wait(lock, [&] { return stop_ || queue_.size() < depth_; });
        if (stop_) return;
      }
      try {
        T item = produce_();
        std::lock_guard<std::mutex> lock(mu_);
        queue_.push_back(std::move(item));
      } catch (...) {
        std::lock_guard<std::mutex> lock(mu_);
        error_ = std::current_exception();
        ready_.notify_all();
        return;
      }
      ready_.notify_one();
    }
  }

  std::function<T()> produce_;
  size_t depth_;
  std::mutex mu_;
  std::condition_variable ready_;  // queue_ non-empty or error_ set
  std::condition_variable space_;  // queue_ below depth_ or stop_
  std::deque<T> queue_;            // (<= depth) results not yet consumed
  std::exception_ptr error_;
  bool stop_ = false;
  std::thread thread_;  // last: started after every field above exists
};

}  // namespace ckf
