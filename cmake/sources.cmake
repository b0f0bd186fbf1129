# What is built from which files. One library, one executable, the tests.

# --- libpatchbay: the package toolchain (src/package) ----------------------
add_library(patchbay_package STATIC
  src/package/result.cc
  src/package/semver.cc
  src/package/range.cc
  src/package/manifest.cc
  src/package/integrity.cc
  src/package/signature.cc
  src/package/zip_structure.cc
  src/package/archive.cc
  src/package/files.cc
  src/package/ignore.cc
  src/package/package.cc
  src/package/skeleton.cc
)
target_include_directories(patchbay_package PUBLIC ${CMAKE_SOURCE_DIR}/include PRIVATE ${CMAKE_SOURCE_DIR}/src)
target_link_libraries(patchbay_package PUBLIC nlohmann_json::nlohmann_json PkgConfig::LIBARCHIVE PkgConfig::SODIUM)

# libpatchbay: what the executable, the tests and an embedding panel link.
# Each part is its own static library so that a lower part cannot link (and
# so cannot call) a higher one; libpatchbay ties them together.
add_library(patchbay STATIC src/version.cc)
target_compile_definitions(patchbay PRIVATE PATCHBAY_VERSION="${PROJECT_VERSION}")
target_link_libraries(patchbay PUBLIC patchbay_package)

if(PATCHBAY_TESTS)
  enable_testing()
  add_subdirectory(tests)
endif()

# --- the patchbay executable (src/cli) ---------------------------------------
add_executable(patchbay_cli
  src/cli/main.cc
  src/cli/output.cc
  src/cli/package_commands.cc
  src/cli/registry_commands.cc
  src/cli/log.cc
)
set_target_properties(patchbay_cli PROPERTIES OUTPUT_NAME patchbay)
target_include_directories(patchbay_cli PRIVATE ${CMAKE_SOURCE_DIR}/src)
target_link_libraries(patchbay_cli PRIVATE patchbay spdlog::spdlog)
if(CLI11_FOUND)
  target_link_libraries(patchbay_cli PRIVATE CLI11::CLI11)
endif()

# --- store and http ------------------------------------------------------------
find_package(SQLite3 REQUIRED)
find_package(Boost 1.81 REQUIRED)
find_package(Threads REQUIRED)
add_library(patchbay_store STATIC src/store/sqlite.cc)
target_include_directories(patchbay_store PUBLIC ${CMAKE_SOURCE_DIR}/include)
target_link_libraries(patchbay_store PUBLIC SQLite::SQLite3)

pkg_check_modules(CURL REQUIRED IMPORTED_TARGET libcurl)
find_package(ZLIB REQUIRED)
add_library(patchbay_http STATIC src/http/router.cc src/http/server.cc src/http/client.cc src/http/compress.cc src/http/metrics.cc)
target_include_directories(patchbay_http PUBLIC ${CMAKE_SOURCE_DIR}/include)
target_link_libraries(patchbay_http PUBLIC Boost::headers Threads::Threads PkgConfig::CURL ZLIB::ZLIB)
target_link_libraries(patchbay PUBLIC patchbay_store patchbay_http)

# --- registry ------------------------------------------------------------------
add_library(patchbay_registry STATIC src/registry/catalog.cc src/registry/publish.cc src/registry/service.cc)
target_include_directories(patchbay_registry PUBLIC ${CMAKE_SOURCE_DIR}/include PRIVATE ${CMAKE_SOURCE_DIR}/src)
target_link_libraries(patchbay_registry PUBLIC patchbay_package patchbay_store patchbay_http)
target_link_libraries(patchbay PUBLIC patchbay_registry)
