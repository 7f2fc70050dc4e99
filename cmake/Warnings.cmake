# Shared compile settings for every drover target, as an INTERFACE library.
add_library(drover_settings INTERFACE)
target_compile_options(drover_settings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wold-style-cast -Wcast-align
  -Wunused -Woverloaded-virtual -Wdouble-promotion -Wformat=2
  -Wimplicit-fallthrough -Wno-missing-field-initializers)
if(DROVER_WERROR)
  target_compile_options(drover_settings INTERFACE -Werror)
endif()
target_include_directories(drover_settings INTERFACE ${PROJECT_SOURCE_DIR})
target_compile_definitions(drover_settings INTERFACE SPDLOG_FMT_EXTERNAL)
if(DROVER_SANITIZE)
  target_compile_options(drover_settings INTERFACE -fsanitize=${DROVER_SANITIZE} -fno-omit-frame-pointer)
  target_link_options(drover_settings INTERFACE -fsanitize=${DROVER_SANITIZE})
endif()
