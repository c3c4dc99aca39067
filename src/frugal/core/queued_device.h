// What a Device whose work runs asynchronously in a queue (a GPU stream) adds to
// core/device.h, for the Session (runtime/session.cpp) to use where a device offers it:
// timestamps queued among the work, so that the device's own time of a stretch of steps is
// known (not the host's, which only sees launches), and recording a stretch of queued work
// once to replay it with one launch (a CUDA graph: no per-kernel launch cost).
#pragma once

#include <memory>

#include "frugal/core/device.h"

namespace frugal {

class QueuedDevice {
 public:
  virtual ~QueuedDevice() = default;

  // An opaque timestamp in the device's queue.
  class Mark {
   public:
    virtual ~Mark() = default;
  };
  virtual std::unique_ptr<Mark> make_mark() const = 0;
  // Queues `m` after the work queued so far.
  virtual void record(Mark& m) const = 0;
  // Device seconds between two recorded marks; waits until `to` has passed.
  virtual double seconds_between(const Mark& from, const Mark& to) const = 0;

  // Work queued between begin_capture() and end_capture() is recorded, not run.
  class Recording {
   public:
    virtual ~Recording() = default;
  };
  virtual void begin_capture() const = 0;
  // Throws InternalError with the device's reason when the work could not be recorded
  // (the device is out of capture mode either way).
  virtual std::unique_ptr<Recording> end_capture() const = 0;
  // Leaves capture mode discarding what was recorded (after a step failed); no throw.
  virtual void abort_capture() const noexcept = 0;
  // Queues the recorded work again; false, with nothing queued, when device buffers the
  // recording refers to have moved since (record again then).
  virtual bool replay(const Recording& r) const = 0;
};

// `d` as a QueuedDevice, or null.
inline const QueuedDevice* queued_device(const Device& d) {
  return dynamic_cast<const QueuedDevice*>(&d);
}

}  // namespace frugal
