# Tree-sitter grammars for the repo map (agent/repomap.h). The generated parsers come from
# npm's tree-sitter-<lang> packages at configure time, into the build tree only: never into
# the source tree. Pinned to releases of the 0.23 line whose src/parser.c has
# LANGUAGE_VERSION 14, the newest ABI Debian's libtree-sitter 0.20.7 loads.
#
# Defines the static library drover_ts_grammars (C) and, on it, one compile definition
# DROVER_TS_<LANG> per grammar that was fetched. Without npm or the registry the library is
# empty, the build goes on, and the repo map knows files by name and matched strings only.

set(DROVER_TS_GRAMMARS
  # language   npm package              version  source folder(s) in the package
  "python      tree-sitter-python       0.23.6   src"
  "java        tree-sitter-java         0.23.5   src"
  "javascript  tree-sitter-javascript   0.23.1   src"
  "typescript  tree-sitter-typescript   0.23.2   typescript/src"
  "tsx         tree-sitter-typescript   0.23.2   tsx/src"
  "go          tree-sitter-go           0.23.4   src"
  "rust        tree-sitter-rust         0.23.3   src"
  "c           tree-sitter-c            0.23.6   src"
  "cpp         tree-sitter-cpp          0.23.4   src")
option(DROVER_TREE_SITTER_GRAMMARS "Fetch tree-sitter grammars from npm for the repo map" ON)

pkg_check_modules(TREE_SITTER REQUIRED IMPORTED_TARGET tree-sitter)
set(grammar_root ${CMAKE_BINARY_DIR}/tree-sitter-grammars)
find_program(DROVER_NPM npm)

# Downloads and unpacks `package@version` under grammar_root once; sets `out_dir` to the
# unpacked package folder, or to "" (with a message saying why) when it could not.
function(drover_fetch_grammar package version out_dir)
  set(dir ${grammar_root}/${package}-${version})
  if(EXISTS ${dir}/package/package.json)
    set(${out_dir} ${dir}/package PARENT_SCOPE)
    return()
  endif()
  set(${out_dir} "" PARENT_SCOPE)
  file(MAKE_DIRECTORY ${dir})
  execute_process(
    COMMAND ${DROVER_NPM} pack ${package}@${version} --silent --cache ${grammar_root}/npm-cache
            --pack-destination ${dir} --fetch-retries=1 --fetch-timeout=30000
    WORKING_DIRECTORY ${dir}
    RESULT_VARIABLE status OUTPUT_VARIABLE tarball ERROR_VARIABLE error
    OUTPUT_STRIP_TRAILING_WHITESPACE TIMEOUT 300)
  if(NOT status EQUAL 0 OR NOT EXISTS ${dir}/${tarball})
    string(STRIP "${error}" error)
    message(STATUS "tree-sitter: npm pack ${package}@${version} failed (${status}): ${error}")
    return()
  endif()
  file(ARCHIVE_EXTRACT INPUT ${dir}/${tarball} DESTINATION ${dir})
  file(REMOVE ${dir}/${tarball})
  set(${out_dir} ${dir}/package PARENT_SCOPE)
endfunction()

enable_language(C)
set(fetched "")
if(NOT DROVER_TREE_SITTER_GRAMMARS)
  message(STATUS "tree-sitter: grammars disabled (DROVER_TREE_SITTER_GRAMMARS=OFF)")
elseif(NOT DROVER_NPM)
  message(STATUS "tree-sitter: npm not found; the repo map will know files by name and "
                 "matched strings only")
else()
  foreach(entry IN LISTS DROVER_TS_GRAMMARS)
    string(REGEX REPLACE " +" ";" fields "${entry}")
    list(GET fields 0 language)
    list(GET fields 1 package)
    list(GET fields 2 version)
    list(GET fields 3 src)
    drover_fetch_grammar(${package} ${version} package_dir)
    if(NOT package_dir)
      # Offline or no registry: the others would fail the same way, each after its timeout.
      break()
    endif()
    set(src_dir ${package_dir}/${src})
    file(STRINGS ${src_dir}/parser.c abi REGEX "^#define LANGUAGE_VERSION ")
    if(NOT abi MATCHES "LANGUAGE_VERSION 1[34]$")
      message(STATUS "tree-sitter: ${package}@${version} has '${abi}', not ABI 13-14; skipped")
      continue()
    endif()
    # Each grammar in its own object library: parser.c files share static names and
    # scanner.c files include their own tree_sitter/ headers.
    # Generated tables: optimised even in Debug builds (parsing speed), not our warnings.
    file(GLOB sources ${src_dir}/parser.c ${src_dir}/scanner.c)
    add_library(drover_ts_${language} OBJECT ${sources})
    target_include_directories(drover_ts_${language} PRIVATE ${src_dir})
    target_compile_options(drover_ts_${language} PRIVATE -O2 -w)
    list(APPEND fetched ${language})
  endforeach()
endif()

if(fetched)
  add_library(drover_ts_grammars STATIC)
  foreach(language IN LISTS fetched)
    target_sources(drover_ts_grammars PRIVATE $<TARGET_OBJECTS:drover_ts_${language}>)
    string(TOUPPER ${language} upper)
    target_compile_definitions(drover_ts_grammars PUBLIC DROVER_TS_${upper})
  endforeach()
  target_link_libraries(drover_ts_grammars PUBLIC PkgConfig::TREE_SITTER)
  list(JOIN fetched ", " fetched_text)
  message(STATUS "tree-sitter grammars: ${fetched_text}")
else()
  message(STATUS "tree-sitter: no grammars; the repo map will know files by their words only")
  add_library(drover_ts_grammars INTERFACE)
  target_link_libraries(drover_ts_grammars INTERFACE PkgConfig::TREE_SITTER)
endif()
