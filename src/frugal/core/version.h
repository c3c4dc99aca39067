// frugal's version and the git revision it was built from. The revision lives in one
// generated source file (build/generated/git_revision.cpp), not in a compile definition,
// so that a new commit rebuilds one file instead of every file of the library.
#pragma once

namespace frugal {

const char* git_revision();

}  // namespace frugal

#define FRUGAL_GIT_REV (::frugal::git_revision())
