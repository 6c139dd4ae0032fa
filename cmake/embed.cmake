# SPDX-License-Identifier: MIT
# cmake -DIN=file -DOUT=file.c -DNAME=symbol -P embed.cmake
# Writes OUT, a C file defining `const char NAME[]` (the bytes of IN, NUL
# ended) and `const size_t NAME_len`, so that a page ships in the binary.
file(READ "${IN}" hex HEX)
string(LENGTH "${hex}" n)
math(EXPR len "${n} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," body "${hex}")
string(REGEX REPLACE "((0x..,){16})" "\\1\n" body "${body}")
file(WRITE "${OUT}" "/* Generated from ${IN} by cmake/embed.cmake. */\n"
  "#include <stddef.h>\n"
  "const char ${NAME}[] = {\n${body}0x00};\n"
  "const size_t ${NAME}_len = ${len};\n")
