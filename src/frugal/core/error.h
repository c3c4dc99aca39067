// Errors: every failure frugal reports is one of these, carrying a one-line
// reason that names the file, node or option at fault.
#pragma once

#include <stdexcept>
#include <string>

namespace frugal {

// The user's input is wrong (bad model, bad shape, bad option). CLI exit code 1.
class UserError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The model uses something frugal does not implement (an op, a dtype, an opset).
// A UserError: the model is fine, frugal declines it, with the reason.
class UnsupportedError : public UserError {
 public:
  using UserError::UserError;
};

// A bug or a broken invariant inside frugal. CLI exit code 2.
class InternalError : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

}  // namespace frugal

#define FRUGAL_CHECK(cond, msg)                                                      \
  do {                                                                               \
    if (!(cond))                                                                     \
      throw ::frugal::InternalError(std::string(__FILE__ ":") + std::to_string(__LINE__) + \
                                    ": check failed: " #cond ": " + (msg));          \
  } while (0)
