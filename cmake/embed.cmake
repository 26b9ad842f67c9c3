# cmake/embed.cmake: turns a text file into a C++ constant at build time.
#   hc_embed_file(TARGET FILE SYMBOL): adds a generated .cpp to TARGET that defines
#   `extern const std::string_view SYMBOL` (SYMBOL may be namespace-qualified: hc::web::x) holding
#   the file's bytes; regenerated whenever FILE changes. Declare the symbol in a header yourself.
# Run as a script (cmake -DIN=.. -DOUT=.. -DSYMBOL=.. -P embed.cmake) it writes the .cpp.
if(CMAKE_SCRIPT_MODE_FILE)
  file(READ "${IN}" content)
  string(FIND "${content}" ")hcembed\"" clash)
  if(NOT clash EQUAL -1)
    message(FATAL_ERROR "${IN} contains the raw-string delimiter )hcembed\"")
  endif()
  string(REGEX MATCH "^(.*)::([^:]+)$" qualified "${SYMBOL}")
  if(qualified)
    set(ns "${CMAKE_MATCH_1}")
    set(name "${CMAKE_MATCH_2}")
    set(open "namespace ${ns} {\n")
    set(close "}  // namespace ${ns}\n")
  else()
    set(name "${SYMBOL}")
    set(open "")
    set(close "")
  endif()
  file(WRITE "${OUT}.tmp"
       "// Generated from ${IN} by cmake/embed.cmake. Do not edit.\n#include <string_view>\n${open}"
       "extern const std::string_view ${name};\nconst std::string_view ${name} = R\"hcembed(${content})hcembed\";\n${close}")
  file(COPY_FILE "${OUT}.tmp" "${OUT}" ONLY_IF_DIFFERENT)
  file(REMOVE "${OUT}.tmp")
  return()
endif()

set(HC_EMBED_SCRIPT ${CMAKE_CURRENT_LIST_FILE})
function(hc_embed_file target file symbol)
  get_filename_component(base ${file} NAME)
  string(MAKE_C_IDENTIFIER "${base}" id)
  set(out ${CMAKE_CURRENT_BINARY_DIR}/embedded/${target}_${id}.cpp)
  add_custom_command(
    OUTPUT ${out}
    COMMAND ${CMAKE_COMMAND} -DIN=${file} -DOUT=${out} -DSYMBOL=${symbol} -P ${HC_EMBED_SCRIPT}
    DEPENDS ${file} ${HC_EMBED_SCRIPT}
    COMMENT "Embedding ${base}"
    VERBATIM)
  target_sources(${target} PRIVATE ${out})
endfunction()
