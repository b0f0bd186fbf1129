# What is built from which files. One library, one executable, the tests.

# Embeds FILES (paths relative to BASE) in TARGET as the table
# `const patchbay::EmbeddedAsset NAME[]` (cmake/embed_assets.cmake).
function(patchbay_embed_files TARGET NAME BASE COMMENT)
  set(files ${ARGN})
  set(sources ${files})
  list(TRANSFORM sources PREPEND ${BASE}/)
  set(output ${CMAKE_BINARY_DIR}/generated/${NAME}.cc)
  add_custom_command(
    OUTPUT ${output}
    COMMAND ${CMAKE_COMMAND} -DOUTPUT=${output} -DNAME=${NAME} -DBASE=${BASE} "-DFILES=${files}" -P ${CMAKE_SOURCE_DIR}/cmake/embed_assets.cmake
    DEPENDS ${sources} ${CMAKE_SOURCE_DIR}/cmake/embed_assets.cmake
    COMMENT "${COMMENT}"
    VERBATIM)
  target_sources(${TARGET} PRIVATE ${output})
endfunction()

# --- libpatchbay: the package toolchain (src/package) ----------------------
add_library(patchbay_package STATIC
  src/package/result.cc
  src/package/semver.cc
  src/package/range.cc
  src/package/manifest.cc
  src/package/permissions.cc
  src/package/integrity.cc
  src/package/signature.cc
  src/package/zip_structure.cc
  src/package/archive.cc
  src/package/files.cc
  src/package/ignore.cc
  src/package/package.cc
  src/package/plugin_modules.cc
  src/package/skeleton.cc
  src/package/process.cc
  src/package/markdown.cc
  src/package/cron.cc
  src/package/clock.cc
  src/package/sql_script.cc
  src/package/text.cc
  src/package/worker_pool.cc
  src/version.cc
)
set_source_files_properties(src/version.cc PROPERTIES COMPILE_DEFINITIONS PATCHBAY_VERSION="${PROJECT_VERSION}")
# The plugin SDK's declarations (sdk/), embedded so that `patchbay init`
# writes the ones of the binary that made the plugin.
set(SDK_FILES index.d.ts server.d.ts globals.d.ts client.d.ts)
patchbay_embed_files(patchbay_package kSdkFiles ${CMAKE_SOURCE_DIR}/sdk "Embedding the plugin SDK's declarations" ${SDK_FILES})
target_include_directories(patchbay_package PUBLIC ${CMAKE_SOURCE_DIR}/include PRIVATE ${CMAKE_SOURCE_DIR}/src)
find_package(Threads REQUIRED)
target_compile_options(patchbay_package PRIVATE ${PATCHBAY_FUZZ_COVERAGE})
target_link_libraries(patchbay_package PUBLIC nlohmann_json::nlohmann_json PkgConfig::LIBARCHIVE PkgConfig::SODIUM PkgConfig::CMARK Threads::Threads)

# libpatchbay: what the executable, the tests and an embedding panel link.
# Each part is its own static library so that a lower part cannot link (and
# so cannot call) a higher one; libpatchbay ties them together.
add_library(patchbay INTERFACE)
target_link_libraries(patchbay INTERFACE patchbay_package)

if(PATCHBAY_TESTS)
  enable_testing()
  add_subdirectory(tests)
endif()

# --- store and http ------------------------------------------------------------
find_package(SQLite3 REQUIRED)
find_package(Boost 1.81 REQUIRED)
find_package(Threads REQUIRED)
add_library(patchbay_store STATIC src/store/sqlite.cc src/store/tokens.cc src/store/postgres.cc src/store/postgres_plugins.cc src/store/sql_database.cc src/store/pg_listener.cc src/store/cron_claims.cc)
target_include_directories(patchbay_store PUBLIC ${CMAKE_SOURCE_DIR}/include)
target_link_libraries(patchbay_store PUBLIC SQLite::SQLite3 patchbay_package PRIVATE PkgConfig::LIBPQ)

pkg_check_modules(CURL REQUIRED IMPORTED_TARGET libcurl)
find_package(ZLIB REQUIRED)
pkg_check_modules(BROTLI REQUIRED IMPORTED_TARGET libbrotlienc)
add_library(patchbay_http STATIC src/http/router.cc src/http/url.cc src/http/server.cc src/http/websocket.cc src/http/client.cc src/http/compress.cc src/http/metrics.cc)
target_include_directories(patchbay_http PUBLIC ${CMAKE_SOURCE_DIR}/include PRIVATE ${CMAKE_SOURCE_DIR}/src)
target_compile_options(patchbay_http PRIVATE ${PATCHBAY_FUZZ_COVERAGE})
target_link_libraries(patchbay_http PUBLIC patchbay_package Boost::headers Threads::Threads PkgConfig::CURL ZLIB::ZLIB PkgConfig::BROTLI)
target_link_libraries(patchbay INTERFACE patchbay_store patchbay_http)

# --- blobs: package bytes in a folder or an S3-compatible store (src/blobs) -----
add_library(patchbay_blobs STATIC src/blobs/folder_store.cc src/blobs/s3_store.cc src/blobs/presign.cc)
target_include_directories(patchbay_blobs PUBLIC ${CMAKE_SOURCE_DIR}/include PRIVATE ${CMAKE_SOURCE_DIR}/src)
target_link_libraries(patchbay_blobs PUBLIC patchbay_package patchbay_http)

# --- registry ------------------------------------------------------------------
add_library(patchbay_registry STATIC src/registry/catalog.cc src/registry/publish.cc src/registry/service.cc
  src/registry/manage.cc src/registry/signing.cc src/registry/bundle.cc src/registry/web.cc src/registry/admin_routes.cc src/registry/folder_watch.cc src/registry/folder_scan.cc
  src/registry/garbage.cc)
# The registry's web interface, embedded in the binary.
patchbay_embed_files(patchbay_registry kRegistryWebAssets ${CMAKE_SOURCE_DIR}/web/registry "Embedding the registry web interface"
  index.html app.js style.css)
target_include_directories(patchbay_registry PUBLIC ${CMAKE_SOURCE_DIR}/include PRIVATE ${CMAKE_SOURCE_DIR}/src)
target_link_libraries(patchbay_registry PUBLIC patchbay_package patchbay_store patchbay_http patchbay_blobs)
target_link_libraries(patchbay INTERFACE patchbay_registry)

# --- install: all-or-nothing install, upgrade, uninstall (src/install) ----------
add_library(patchbay_install STATIC src/install/crash_point.cc src/install/journal.cc src/install/migrations.cc src/install/migration_target.cc src/install/sources.cc src/install/operation.cc src/install/data_folder.cc src/install/installer.cc src/install/panel_installer.cc src/install/panel_service.cc)
target_include_directories(patchbay_install PUBLIC ${CMAKE_SOURCE_DIR}/include PRIVATE ${CMAKE_SOURCE_DIR}/src)
target_link_libraries(patchbay_install PUBLIC patchbay_package patchbay_store patchbay_http patchbay_registry)
target_link_libraries(patchbay INTERFACE patchbay_install)

# --- runtime: plugins in V8 isolates (src/runtime) -----------------------------
if(PATCHBAY_HAVE_V8)
  add_library(patchbay_runtime STATIC
    src/runtime/v8_engine.cc
    src/runtime/capped_allocator.cc
    src/runtime/base_context.cc
    src/runtime/isolate_pool.cc
    src/runtime/hook_context.cc
    src/runtime/plugin_db.cc
    src/runtime/plugin_db_sqlite.cc
    src/runtime/plugin_db_postgres.cc
    src/runtime/plugin_settings.cc
    src/runtime/plugin_http.cc
    src/runtime/plugin_instance.cc
    src/runtime/plugin_executor.cc
    src/runtime/plugin_isolate.cc
    src/runtime/plugin_modules.cc
    src/runtime/api/logger.cc
    src/runtime/api/http.cc
    src/runtime/api/db.cc
    src/runtime/api/config.cc
    src/runtime/api/hooks.cc
    src/runtime/api/timers.cc
    src/runtime/api/cron.cc
    src/runtime/api/fetch.cc
    src/runtime/api/plugins.cc
    src/runtime/api/ui.cc
    src/runtime/api/globals.cc
    src/runtime/api/data.cc
    src/runtime/api/events.cc
    src/runtime/runtime.cc)
  patchbay_embed_files(patchbay_runtime kRuntimeScripts ${CMAKE_SOURCE_DIR}/src/runtime/js "Embedding the runtime's JavaScript" web.js prelude.js)
  target_include_directories(patchbay_runtime PUBLIC ${CMAKE_SOURCE_DIR}/include PRIVATE ${CMAKE_SOURCE_DIR}/src)
  target_compile_options(patchbay_runtime PRIVATE ${PATCHBAY_FUZZ_COVERAGE})
  target_link_libraries(patchbay_runtime PUBLIC patchbay_package patchbay_store patchbay_http PRIVATE patchbay_v8)
  set_source_files_properties(src/runtime/capped_allocator.cc PROPERTIES COMPILE_OPTIONS -fno-rtti SKIP_PRECOMPILE_HEADERS ON)
  # V8's and nlohmann's headers, parsed once for the runtime's ~30 files
  # (each API file of src/runtime/api/ includes both).
  target_precompile_headers(patchbay_runtime PRIVATE <v8.h> <nlohmann/json.hpp>)
  # The API files are one file per API for people, and one translation unit
  # for the compiler: each alone spent ~7 s instantiating the same templates.
  set_target_properties(patchbay_runtime PROPERTIES UNITY_BUILD ON UNITY_BUILD_MODE GROUP)
  file(GLOB PATCHBAY_RUNTIME_API_SOURCES ${CMAKE_SOURCE_DIR}/src/runtime/api/*.cc)
  set_source_files_properties(${PATCHBAY_RUNTIME_API_SOURCES} PROPERTIES UNITY_GROUP runtime_api)
  target_link_libraries(patchbay INTERFACE patchbay_runtime)

  # --- host: the runtime behind HTTP (src/host) --------------------------------
  add_library(patchbay_host STATIC src/host/host.cc src/host/cluster_plugins.cc src/host/host_routes.cc src/host/marketplace.cc src/host/marketplace_routes.cc src/host/tenants.cc src/host/tenant_routes.cc)
  target_include_directories(patchbay_host PUBLIC ${CMAKE_SOURCE_DIR}/include PRIVATE ${CMAKE_SOURCE_DIR}/src)
  target_link_libraries(patchbay_host PUBLIC patchbay_runtime patchbay_http patchbay_store patchbay_install)
  target_link_libraries(patchbay INTERFACE patchbay_host)
endif()

# The host's own state (tokens, audit, tenants) without the runtime.
add_library(patchbay_host_state STATIC src/host/host_state.cc)
target_include_directories(patchbay_host_state PUBLIC ${CMAKE_SOURCE_DIR}/include)
target_link_libraries(patchbay_host_state PUBLIC patchbay_store patchbay_install)
target_link_libraries(patchbay INTERFACE patchbay_host_state)
if(TARGET patchbay_host)
  target_link_libraries(patchbay_host PUBLIC patchbay_host_state)
endif()

# --- panel: users, sessions and the panel's routes (src/panel) ------------------
add_library(patchbay_panel STATIC src/panel/accounts.cc src/panel/throttle.cc src/panel/request_checks.cc src/panel/auth_routes.cc src/panel/admin_user_routes.cc
  src/panel/fleet.cc src/panel/fleet_power.cc src/panel/fleet_events.cc src/panel/hook_points.cc src/panel/records.cc src/panel/server_routes.cc src/panel/live_events.cc src/panel/event_relay.cc
  src/panel/navigation.cc src/panel/web_routes.cc)
# The panel's pages: web/panel/src bundled by Debian's esbuild (Preact and
# htm from web/panel/node_modules, installed by scripts/setup from the
# lockfile), content-hashed, then embedded. No Node at build or run time.
find_program(ESBUILD esbuild REQUIRED)
file(GLOB_RECURSE PANEL_WEB_SOURCES CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/web/panel/src/*)
add_custom_command(
  OUTPUT ${CMAKE_BINARY_DIR}/generated/panel_web_assets.cc
  COMMAND ${CMAKE_COMMAND} -E rm -rf ${CMAKE_BINARY_DIR}/generated/panel-web
  COMMAND ${ESBUILD} ${CMAKE_SOURCE_DIR}/web/panel/src/app.js --bundle --minify --format=esm --target=es2020
          --outdir=${CMAKE_BINARY_DIR}/generated/panel-web --entry-names=[name]-[hash] --legal-comments=none --log-level=warning
  # What runs inside plugins' sandboxed frames: a classic script (the frame's
  # origin is opaque, a module script from the panel would need CORS).
  COMMAND ${ESBUILD} ${CMAKE_SOURCE_DIR}/web/panel/src/frame/frame.js --bundle --minify --format=iife --target=es2020
          --outdir=${CMAKE_BINARY_DIR}/generated/panel-web --entry-names=[name]-[hash] --legal-comments=none --log-level=warning
  COMMAND ${CMAKE_COMMAND} -DOUTPUT=${CMAKE_BINARY_DIR}/generated/panel_web_assets.cc -DNAME=kPanelWebAssets
          -DBASE=${CMAKE_BINARY_DIR}/generated/panel-web -DGLOB=1 -P ${CMAKE_SOURCE_DIR}/cmake/embed_assets.cmake
  DEPENDS ${PANEL_WEB_SOURCES} ${CMAKE_SOURCE_DIR}/web/panel/package-lock.json ${CMAKE_SOURCE_DIR}/cmake/embed_assets.cmake
  WORKING_DIRECTORY ${CMAKE_SOURCE_DIR}/web/panel
  COMMENT "Bundling and embedding the panel's pages (esbuild)"
  VERBATIM)
target_sources(patchbay_panel PRIVATE ${CMAKE_BINARY_DIR}/generated/panel_web_assets.cc)
target_include_directories(patchbay_panel PUBLIC ${CMAKE_SOURCE_DIR}/include PRIVATE ${CMAKE_SOURCE_DIR}/src)
target_link_libraries(patchbay_panel PUBLIC patchbay_http patchbay_store patchbay_host_state)
target_link_libraries(patchbay INTERFACE patchbay_panel)

# --- the executables (src/cli) --------------------------------------------------
# `patchbay`: every command, without V8, so it starts without loading libnode
# (~45 ms); its `serve` hands over to `patchbay-host` beside it, which is the
# same command line with the host and runtime linked.
set(PATCHBAY_CLI_SOURCES
  src/cli/main.cc
  src/cli/output.cc
  src/cli/package_commands.cc
  src/cli/registry_commands.cc
  src/cli/config_file.cc
  src/cli/server_support.cc
  src/cli/host_commands.cc
  src/cli/install_commands.cc
  src/cli/panel_commands.cc
  src/cli/log.cc)
# The command line, compiled once for both executables.
add_library(patchbay_cli_common OBJECT ${PATCHBAY_CLI_SOURCES})
target_precompile_headers(patchbay_cli_common PRIVATE <CLI/CLI.hpp> <nlohmann/json.hpp>)
target_include_directories(patchbay_cli_common PRIVATE ${CMAKE_SOURCE_DIR}/src)
target_link_libraries(patchbay_cli_common PUBLIC patchbay_package patchbay_store patchbay_http patchbay_registry patchbay_install
                      patchbay_host_state spdlog::spdlog)
if(CLI11_FOUND)
  target_link_libraries(patchbay_cli_common PUBLIC CLI11::CLI11)
endif()
add_executable(patchbay_cli src/cli/host_serve_exec.cc)
set_target_properties(patchbay_cli PROPERTIES OUTPUT_NAME patchbay)
target_include_directories(patchbay_cli PRIVATE ${CMAKE_SOURCE_DIR}/src)
target_link_libraries(patchbay_cli PRIVATE patchbay_cli_common)
# The reference plugins `patchbay up` puts into its registry, embedded.
set(REFERENCE_PLUGIN_FILES)
foreach(plugin ai-chatbot billing discord-alerts server-activity)
  file(GLOB_RECURSE files CONFIGURE_DEPENDS RELATIVE ${CMAKE_SOURCE_DIR}/examples/plugins ${CMAKE_SOURCE_DIR}/examples/plugins/${plugin}/*)
  list(APPEND REFERENCE_PLUGIN_FILES ${files})
endforeach()
list(SORT REFERENCE_PLUGIN_FILES)
add_executable(patchbay_host_cli src/cli/host_serve.cc src/cli/up.cc src/cli/dev.cc)
patchbay_embed_files(patchbay_host_cli kReferencePluginFiles ${CMAKE_SOURCE_DIR}/examples/plugins "Embedding the reference plugins"
  ${REFERENCE_PLUGIN_FILES})
set_target_properties(patchbay_host_cli PROPERTIES OUTPUT_NAME patchbay-host)
target_include_directories(patchbay_host_cli PRIVATE ${CMAKE_SOURCE_DIR}/src)
target_link_libraries(patchbay_host_cli PRIVATE patchbay_cli_common patchbay)
add_dependencies(patchbay_cli patchbay_host_cli)

# --- examples that are programs ----------------------------------------------
add_executable(patchbay_embed_example examples/embed/main.cc)
set_target_properties(patchbay_embed_example PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/examples/embed)
target_link_libraries(patchbay_embed_example PRIVATE patchbay)

# --- benchmarks that are programs (bench/) -------------------------------------
# Not in the sanitizer build: benchmarks measure the plain one.
if(NOT PATCHBAY_SANITIZE)
  add_executable(patchbay_bench_runtime bench/runtime/runtime_bench.cc)
  set_target_properties(patchbay_bench_runtime PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/bench)
  target_link_libraries(patchbay_bench_runtime PRIVATE patchbay)
  # The floor under an isolated call in this V8 (bench/runtime/run prints it).
  add_executable(patchbay_bench_v8_floor bench/runtime/v8_floor.cc)
  set_target_properties(patchbay_bench_v8_floor PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/bench)
  target_link_libraries(patchbay_bench_v8_floor PRIVATE patchbay_v8)
endif()

# --- install: `cmake --install build-release --prefix ~/.local` puts
# patchbay and patchbay-host in <prefix>/bin and V8 (Debian's libnode, which
# scripts/setup unpacked into .deps) in <prefix>/lib/patchbay, where the
# installed binaries look for it first.
include(GNUInstallDirs)
install(TARGETS patchbay_cli patchbay_host_cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(FILES ${PATCHBAY_V8_LIBRARY} DESTINATION ${CMAKE_INSTALL_LIBDIR}/patchbay)
set_target_properties(patchbay_host_cli PROPERTIES INSTALL_RPATH "$ORIGIN/../${CMAKE_INSTALL_LIBDIR}/patchbay")

# nlohmann's header, parsed once per library that includes it in most files.
foreach(library patchbay_registry patchbay_install)
  target_precompile_headers(${library} PRIVATE <nlohmann/json.hpp>)
endforeach()
if(TARGET patchbay_host)
  target_precompile_headers(patchbay_host PRIVATE <nlohmann/json.hpp>)
endif()
