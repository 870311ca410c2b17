# The reference executable of a real-archive case (tests/archives.cmake):
#   cmake -DCC=... -DOBJ=x.o -DOUT=x.ref -DARCHIVES="a.a|b.a" -DLIBS="-lm|..." -P reflink.cmake
# links `CC OBJ ARCHIVES... LIBS... -o OUT`.  When the compiler itself cannot
# link the program against these archives (e.g. x86_64's libm.a needs the
# static C library's internals), OUT-failed gets its first error line and
# OUT is left empty: test_archive then skips the case with that reason.
string(REPLACE "|" ";" archives "${ARCHIVES}")
string(REPLACE "|" ";" libs "${LIBS}")
file(REMOVE ${OUT} ${OUT}-failed)
execute_process(COMMAND ${CC} ${OBJ} ${archives} ${libs} -o ${OUT}
                RESULT_VARIABLE rc ERROR_VARIABLE err OUTPUT_VARIABLE out)
if(NOT rc EQUAL 0)
  string(REGEX MATCH "[^\n]*(error|undefined)[^\n]*" first "${err}")
  if(NOT first)
    string(REGEX MATCH "[^\n]+" first "${err}")
  endif()
  file(WRITE ${OUT}-failed "${first}\n")
  # (An empty OUT satisfies the build's dependency.)
  file(WRITE ${OUT} "")
endif()
