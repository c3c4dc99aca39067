# The ISA-specific sources (*_avx2.cpp, *_avx512*.cpp) select their ISA with
# `#pragma GCC target`, which clang ignores: the clang builds (tools/fuzz, tools/sanitize)
# give clang the same ISA on the command line. The code still dispatches at run time.
function(frugal_clang_isa_flags)
  foreach(src ${ARGN})
    if(src MATCHES "_avx2\\.cpp$")
      set_source_files_properties(${src} PROPERTIES COMPILE_OPTIONS "-mavx2;-mfma;-mf16c")
    elseif(src MATCHES "_avx512_vnni\\.cpp$")
      set_source_files_properties(${src} PROPERTIES COMPILE_OPTIONS
                                  "-mavx512f;-mavx512bw;-mavx512vl;-mavx512dq;-mavx512vnni")
    elseif(src MATCHES "_avx512[a-z_]*\\.cpp$")
      set_source_files_properties(${src} PROPERTIES COMPILE_OPTIONS
                                  "-mavx512f;-mavx512bw;-mavx512vl;-mavx512dq;-mbmi;-mpopcnt")
    endif()
  endforeach()
endfunction()
