# Static archives for tests/unit/test_archive.c, built at build time with
# ${CMAKE_AR} (the cross ar in cross builds) from objects compiled here.
# Included by tests/CMakeLists.txt; everything lands in EJ_UNIT_AR_DIR.
#
# 1. Objects.  Every tests/unit/objs_ar/*.c and *.S is compiled by the
#    target's compiler with -O2 -c into EJ_UNIT_AR_DIR/<name>.o.
#    EJ_UNIT_AR_SPECIAL lists objects made some other way, one entry each:
#        "<output> <kind> <source in objs_ar/special/> [flags...]"
#    kind: lto      clang -flto -O2 -c (LLVM bitcode; --target=<triple> when
#                   cross-compiling); skipped without clang
#          gcc-lto  the target's gcc -flto -O2 -c (an ELF object with GCC's
#                   LTO intermediate language only); skipped when the
#                   compiler is not gcc
#          foreign  another architecture's gcc -O2 -c (aarch64 or riscv64 on
#                   x86_64, x86_64 elsewhere); skipped without one
#          so       the target's compiler, -O2 -fPIC -shared
#          copy     the file as it is (a member that is no object at all)
# 2. Archives.  EJ_UNIT_ARCHIVES lists one archive per entry:
#        "<archive> <archiver> <flags> <member>..."
#    <archive> is relative to EJ_UNIT_AR_DIR (it may name a subdirectory,
#    e.g. L1/libord.a for -L tests), the members are outputs of step 1
#    (relative to EJ_UNIT_AR_DIR).  The archive is deleted and rebuilt as
#    `<archiver> <flags> <archive> <member>...` run in EJ_UNIT_AR_DIR
#    (so thin archives record paths relative to it), whenever a member
#    changes.  <archiver>: ar   ${CMAKE_AR}: GNU format (flags rcs: with a
#                               symbol index; rcS: without; rcT: thin)
#                          bsd  llvm-ar --format=bsd (BSD format:
#                               __.SYMDEF index, #1/NN long names);
#                               skipped without llvm-ar
#    An entry whose members could not all be built is skipped with a
#    message; test_archive then skips the cases that need it, by name.
# 3. Real static libraries the system ships (the test links small programs
#    against them and compares with gcc's link of the same archives):
#    EJ_REAL_ARCHIVES, one entry each:
#        "<case> <header> <archive>[,<archive>...] [-l<lib>...] [-I<dir>...]"
#    tests/unit/objs_realar/<case>.c (or .cpp: C++, the target's g++) is
#    compiled (-O2 -g, and the -I flags) when <header> and every archive are
#    found (headers in EJ_CROSS_PREFIX/include, /usr/include/<multiarch>,
#    /usr/include; archives in the target's library directories:
#    EJ_CROSS_PREFIX/lib, /usr/lib/<multiarch>, /lib/<multiarch>,
#    /usr/<triple>/lib, python's config directory); its reference
#    executable is `cc <case>.o <archives> -l<lib>...`, linked by
#    objs_realar/reflink.cmake, which
#    records gcc's own refusal in <case>.ref-failed instead of failing the
#    build (x86_64's libm.a needs the static C library's internals).
#    `elfjit run <case>.o <archives> -l <lib>...` must then behave exactly
#    as the reference.  EJ_UNIT_AR_DIR/real/ holds the outputs;
#    EJ_UNIT_AR_DIR/real.manifest lists the cases, one line each:
#        "<case> <object> <reference> <archive>... [-l<lib>...]"  (found)
#        "<case> - <why not>"                        (not available here)

set(EJ_UNIT_AR_DIR ${CMAKE_CURRENT_BINARY_DIR}/objs_ar)
set(_ej_ar_src ${CMAKE_CURRENT_SOURCE_DIR}/unit/objs_ar)
file(MAKE_DIRECTORY ${EJ_UNIT_AR_DIR})

string(TOLOWER "${CMAKE_SYSTEM_PROCESSOR}" _ej_ar_proc)
if(_ej_ar_proc MATCHES "^(x86_64|amd64)$")
  find_program(EJ_AR_FOREIGN_CC NAMES aarch64-linux-gnu-gcc riscv64-linux-gnu-gcc)
else()
  find_program(EJ_AR_FOREIGN_CC NAMES x86_64-linux-gnu-gcc)
endif()
find_program(EJ_AR_CLANG NAMES clang clang-14)
find_program(EJ_AR_LLVM_AR NAMES llvm-ar llvm-ar-14)
set(_ej_ar_clang_target)
if(CMAKE_CROSSCOMPILING)
  set(_ej_ar_clang_target --target=${CMAKE_LIBRARY_ARCHITECTURE})
endif()

# ---- 1. objects -------------------------------------------------------------
set(EJ_UNIT_AR_SPECIAL
  "bc_fn.o lto bc_fn.c"
  "gcc_lto_fn.o gcc-lto gcc_lto_fn.c"
  "foreign_fn.o foreign foreign_fn.c"
  "garbage.o copy garbage.txt"
  "Lp/libpref.so so pref_shared.c")

set(_ej_ar_outputs)
file(GLOB _ej_ar_srcs CONFIGURE_DEPENDS ${_ej_ar_src}/*.c ${_ej_ar_src}/*.S)
foreach(src ${_ej_ar_srcs})
  get_filename_component(name ${src} NAME_WE)
  set(obj ${EJ_UNIT_AR_DIR}/${name}.o)
  add_custom_command(OUTPUT ${obj}
    COMMAND ${CMAKE_C_COMPILER} -O2 -c ${src} -o ${obj}
    DEPENDS ${src} VERBATIM)
  list(APPEND _ej_ar_outputs ${obj})
  set(_ej_ar_have_${name}.o ON)
endforeach()

foreach(entry ${EJ_UNIT_AR_SPECIAL})
  separate_arguments(args UNIX_COMMAND "${entry}")
  list(POP_FRONT args out kind src)
  set(src ${_ej_ar_src}/special/${src})
  set(dst ${EJ_UNIT_AR_DIR}/${out})
  get_filename_component(dst_dir ${dst} DIRECTORY)
  if(kind STREQUAL "lto")
    if(NOT EJ_AR_CLANG)
      message(STATUS "elfjit archives: no clang, no ${out} (LLVM bitcode)")
      continue()
    endif()
    set(cmd ${EJ_AR_CLANG} ${_ej_ar_clang_target} -flto -O2 ${args} -c ${src} -o ${dst})
  elseif(kind STREQUAL "gcc-lto")
    if(NOT CMAKE_C_COMPILER_ID STREQUAL "GNU")
      message(STATUS "elfjit archives: the compiler is not gcc, no ${out} (GCC LTO)")
      continue()
    endif()
    set(cmd ${CMAKE_C_COMPILER} -flto -O2 ${args} -c ${src} -o ${dst})
  elseif(kind STREQUAL "foreign")
    if(NOT EJ_AR_FOREIGN_CC)
      message(STATUS "elfjit archives: no compiler for another architecture, no ${out}")
      continue()
    endif()
    set(cmd ${EJ_AR_FOREIGN_CC} -O2 ${args} -c ${src} -o ${dst})
  elseif(kind STREQUAL "so")
    set(cmd ${CMAKE_C_COMPILER} -O2 -fPIC -shared ${args} ${src} -o ${dst})
  elseif(kind STREQUAL "copy")
    set(cmd ${CMAKE_COMMAND} -E copy ${src} ${dst})
  else()
    message(FATAL_ERROR "EJ_UNIT_AR_SPECIAL: '${entry}': unknown kind ${kind}")
  endif()
  add_custom_command(OUTPUT ${dst}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${dst_dir}
    COMMAND ${cmd}
    DEPENDS ${src} VERBATIM)
  list(APPEND _ej_ar_outputs ${dst})
  set(_ej_ar_have_${out} ON)
endforeach()

# ---- 2. archives ------------------------------------------------------------
set(_ej_basic ar_add.o ar_helper_with_a_long_member_name.o ar_unused.o ar_data.o)
list(JOIN _ej_basic " " _ej_basic)
set(EJ_UNIT_ARCHIVES
  # pull only what is needed, transitively; data-only pulls; --whole-archive
  "libbasic.a ar rcs ${_ej_basic}"
  # the same without a symbol index (members read to index them), thin, BSD
  "libbasic_noidx.a ar rcS ${_ej_basic}"
  "libbasic_thin.a ar rcT ${_ej_basic}"
  "Lt/libbasic_thin.a ar rcT ${_ej_basic}"
  "libbasic_bsd.a bsd rcs ${_ej_basic}"
  # circular dependencies between two archives (either order)
  "libcyc_a.a ar rcs cyc_a1.o cyc_a2.o"
  "libcyc_b.a ar rcs cyc_b1.o cyc_b2.o"
  # duplicates: first archive wins, first member wins, the later pull
  "libdup1.a ar rcs dup1.o"
  "libdup2.a ar rcs dup2.o"
  "libdupm.a ar rcs dupm_first.o dupm_second.o"
  "libdupm_rev.a ar rcs dupm_second.o dupm_first.o"
  "libdupx.a ar rcs dupx_member.o"
  "liblate_a.a ar rcs late_a.o"
  "liblate_b.a ar rcs late_trig.o late_b.o"
  "liblate_c.a ar rcs late_b.o late_trig.o"
  # weak references and definitions, common definitions
  "libweak.a ar rcs weak_target.o"
  "libweakdef.a ar rcs weakdef.o"
  "libcommon.a ar rcs common_def.o"
  "libctor.a ar rcs ctor_only.o"
  "libtlsar.a ar rcs tls_member.o"
  # members that cannot be loaded, next to one that can
  "libmixed_bc.a ar rcs ok_fn.o bc_fn.o"
  "libmixed_foreign.a ar rcs ok_fn.o foreign_fn.o"
  "libgcc_lto.a ar rcs ok_fn.o gcc_lto_fn.o"
  "libgarbage.a ar rcs ok_fn.o garbage.o"
  # errors inside a pulled member
  "libundef.a ar rcs undef_member.o"
  "libbadrel.a ar rcs badrel_member.o"
  # -L / -l: directory order, .so against .a
  "L1/libord.a ar rcs ord1.o"
  "L2/libord.a ar rcs ord2.o"
  "Lp/libpref.a ar rcs pref_static.o")

foreach(entry ${EJ_UNIT_ARCHIVES})
  separate_arguments(args UNIX_COMMAND "${entry}")
  list(POP_FRONT args archive archiver flags)
  set(missing)
  set(deps)
  foreach(m ${args})
    if(NOT _ej_ar_have_${m})
      list(APPEND missing ${m})
    endif()
    list(APPEND deps ${EJ_UNIT_AR_DIR}/${m})
  endforeach()
  if(archiver STREQUAL "ar")
    set(tool ${CMAKE_AR})
  elseif(archiver STREQUAL "bsd")
    set(tool ${EJ_AR_LLVM_AR} --format=bsd)
    if(NOT EJ_AR_LLVM_AR)
      set(missing llvm-ar)
    endif()
  else()
    message(FATAL_ERROR "EJ_UNIT_ARCHIVES: '${entry}': unknown archiver ${archiver}")
  endif()
  if(missing)
    message(STATUS "elfjit archives: no ${archive} (missing: ${missing})")
    continue()
  endif()
  set(dst ${EJ_UNIT_AR_DIR}/${archive})
  get_filename_component(dst_dir ${dst} DIRECTORY)
  add_custom_command(OUTPUT ${dst}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${dst_dir}
    COMMAND ${CMAKE_COMMAND} -E rm -f ${dst}
    COMMAND ${tool} ${flags} ${archive} ${args}
    WORKING_DIRECTORY ${EJ_UNIT_AR_DIR}
    DEPENDS ${deps}
    COMMENT "archive ${archive}"
    VERBATIM)
  list(APPEND _ej_ar_outputs ${dst})
endforeach()

# ---- 3. real static libraries -----------------------------------------------
# Python's static library, for embedding: the -pic one (Debian's
# libpython3.X.a is not position-independent).
set(_ej_py)
file(GLOB _ej_py_hdrs /usr/include/python3.*/Python.h)
if(_ej_py_hdrs)
  list(SORT _ej_py_hdrs COMPARE NATURAL ORDER DESCENDING)
  list(GET _ej_py_hdrs 0 _ej_py_hdr)
  string(REGEX REPLACE ".*/python(3\\.[0-9]+)/Python.h" "\\1" _ej_py "${_ej_py_hdr}")
endif()
if(NOT _ej_py)
  set(_ej_py 3)
endif()
set(EJ_REAL_ARCHIVES
  "zlib zlib.h libz.a"
  "bzip2 bzlib.h libbz2.a"
  "lzma lzma.h liblzma.a"
  "zstd zstd.h libzstd.a"
  "sqlite3 sqlite3.h libsqlite3.a -lm"
  "libelf libelf.h libelf.a,libz.a"
  "libdw elfutils/libdw.h libdw.a,libelf.a,libz.a,liblzma.a,libbz2.a"
  "crypt crypt.h libcrypt.a"
  "libm math.h libm.a"
  "expat expat.h libexpat.a"
  "pcre2 pcre2.h libpcre2-8.a"
  "gmp gmp.h libgmp.a"
  "yaml yaml.h libyaml.a"
  "openssl openssl/evp.h libcrypto.a"
  "tcl tcl8.6/tcl.h libtcl8.6.a,libz.a -lm"
  "ffi ffi.h libffi.a"
  "png png.h libpng16.a,libz.a -lm"
  "gtest gtest/gtest.h libgtest.a"
  "python ${CMAKE_LIBRARY_ARCHITECTURE}/python${_ej_py}/pyconfig.h libpython${_ej_py}-pic.a,libexpat.a,libz.a -lm -I/usr/include/python${_ej_py}")

set(_ej_real_libdirs)
if(EJ_CROSS_PREFIX)
  list(APPEND _ej_real_libdirs ${EJ_CROSS_PREFIX}/lib)
endif()
if(CMAKE_LIBRARY_ARCHITECTURE)
  list(APPEND _ej_real_libdirs /usr/lib/${CMAKE_LIBRARY_ARCHITECTURE}
       /lib/${CMAKE_LIBRARY_ARCHITECTURE} /usr/${CMAKE_LIBRARY_ARCHITECTURE}/lib
       /usr/lib/python${_ej_py}/config-${_ej_py}-${CMAKE_LIBRARY_ARCHITECTURE})
endif()
if(CMAKE_CROSSCOMPILING)
  find_program(EJ_REAL_CXX NAMES ${CMAKE_LIBRARY_ARCHITECTURE}-g++)
else()
  find_program(EJ_REAL_CXX NAMES g++ c++)
endif()
set(_ej_real_incdirs)
if(EJ_CROSS_PREFIX)
  list(APPEND _ej_real_incdirs ${EJ_CROSS_PREFIX}/include)
endif()
if(CMAKE_LIBRARY_ARCHITECTURE)
  list(APPEND _ej_real_incdirs /usr/include/${CMAKE_LIBRARY_ARCHITECTURE})
endif()
list(APPEND _ej_real_incdirs /usr/include)
set(_ej_real_manifest "")
foreach(entry ${EJ_REAL_ARCHIVES})
  separate_arguments(args UNIX_COMMAND "${entry}")
  list(POP_FRONT args case header archives)
  string(REPLACE "," ";" archives "${archives}")
  set(libs)
  set(cflags)
  foreach(a ${args})
    if(a MATCHES "^-I")
      list(APPEND cflags ${a})
    else()
      list(APPEND libs ${a})
    endif()
  endforeach()
  set(src ${CMAKE_CURRENT_SOURCE_DIR}/unit/objs_realar/${case}.c)
  set(cc ${CMAKE_C_COMPILER})
  set(why)
  if(NOT EXISTS ${src})
    set(src ${CMAKE_CURRENT_SOURCE_DIR}/unit/objs_realar/${case}.cpp)
    set(cc ${EJ_REAL_CXX})
    if(NOT EJ_REAL_CXX)
      set(why "no C++ compiler for ${CMAKE_SYSTEM_PROCESSOR}")
    endif()
  endif()
  set(found)
  find_file(_ej_real_hdr ${header} PATHS ${_ej_real_incdirs} NO_DEFAULT_PATH
            NO_CMAKE_FIND_ROOT_PATH NO_CACHE)
  if(NOT _ej_real_hdr AND NOT why)
    set(why "no ${header} for ${CMAKE_SYSTEM_PROCESSOR}")
  endif()
  foreach(a ${archives})
    find_file(_ej_real_a ${a} PATHS ${_ej_real_libdirs} NO_DEFAULT_PATH
              NO_CMAKE_FIND_ROOT_PATH NO_CACHE)
    if(_ej_real_a)
      list(APPEND found ${_ej_real_a})
    elseif(NOT why)
      set(why "no ${a} for ${CMAKE_SYSTEM_PROCESSOR}")
    endif()
    unset(_ej_real_a)
  endforeach()
  unset(_ej_real_hdr)
  if(why)
    string(APPEND _ej_real_manifest "${case} - ${why}\n")
    continue()
  endif()
  set(obj ${EJ_UNIT_AR_DIR}/real/${case}.o)
  set(ref ${EJ_UNIT_AR_DIR}/real/${case}.ref)
  add_custom_command(OUTPUT ${obj}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${EJ_UNIT_AR_DIR}/real
    COMMAND ${cc} -O2 -g ${cflags} -c ${src} -o ${obj}
    DEPENDS ${src} VERBATIM)
  list(JOIN found "|" found_arg)
  list(JOIN libs "|" libs_arg)
  add_custom_command(OUTPUT ${ref}
    COMMAND ${CMAKE_COMMAND} -DCC=${cc} -DOBJ=${obj} -DOUT=${ref}
            "-DARCHIVES=${found_arg}" "-DLIBS=${libs_arg}"
            -P ${CMAKE_CURRENT_SOURCE_DIR}/unit/objs_realar/reflink.cmake
    DEPENDS ${obj} ${found} ${CMAKE_CURRENT_SOURCE_DIR}/unit/objs_realar/reflink.cmake
    VERBATIM)
  list(APPEND _ej_ar_outputs ${obj} ${ref})
  list(JOIN found " " found_words)
  list(JOIN libs " " libs_words)
  string(APPEND _ej_real_manifest "${case} ${obj} ${ref} ${found_words} ${libs_words}\n")
endforeach()
file(WRITE ${EJ_UNIT_AR_DIR}/real.manifest.tmp "${_ej_real_manifest}")
file(COPY_FILE ${EJ_UNIT_AR_DIR}/real.manifest.tmp ${EJ_UNIT_AR_DIR}/real.manifest
     ONLY_IF_DIFFERENT)

add_custom_target(ej_unit_archives ALL DEPENDS ${_ej_ar_outputs})
