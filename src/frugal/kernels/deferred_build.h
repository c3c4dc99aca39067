// A kernel that answers the Session's negotiation (negotiation.h) from descriptions and
// builds what runs (generated code, weights converted to its layout) once, when every
// boundary is settled, instead of at every agreement. The Session calls finish_build()
// after the negotiation, so that session init, not the first run, pays for it; a kernel
// run before that builds itself first.
#pragma once

namespace frugal::kernels {

class DeferredBuild {
 public:
  virtual ~DeferredBuild() = default;
  // Builds the kernel as negotiated; a second call does nothing.
  virtual void finish_build() = 0;
};

}  // namespace frugal::kernels
