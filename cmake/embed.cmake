# Writes a file's bytes as a C array: cmake -DIN=file -DOUT=file.c -DNAME=symbol -P embed.cmake
# (the browser demo page, built into libsori so `sori serve --demo` needs no file at run time).
file(READ "${IN}" hex HEX)
string(LENGTH "${hex}" n)
math(EXPR n "${n} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," body "${hex}")
string(REGEX REPLACE "((0x..,){16})" "\\1\n    " body "${body}")
file(WRITE "${OUT}" "/* generated from ${IN} by cmake/embed.cmake: do not edit */\n#include <stddef.h>\n"
     "const unsigned char ${NAME}[] = {\n    ${body}0x00};\nconst size_t ${NAME}_len = ${n};\n")
