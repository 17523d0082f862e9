# vcpkg port for joblib-cpp (header-only). Use it as an overlay port until it is upstreamed:
#   vcpkg install joblib --overlay-ports=<joblib-cpp>/ports
set(VCPKG_BUILD_TYPE release)

vcpkg_from_github(
  OUT_SOURCE_PATH SOURCE_PATH
  REPO joblib-cpp/joblib-cpp
  REF "v${VERSION}"
  SHA512 0
  HEAD_REF main
)

vcpkg_cmake_configure(
  SOURCE_PATH "${SOURCE_PATH}"
  OPTIONS
    -DJOBLIB_BUILD_TESTS=OFF
    -DJOBLIB_BUILD_EXAMPLES=OFF
    -DJOBLIB_BUILD_BENCHMARKS=OFF
    -DJOBLIB_BUILD_FUZZERS=OFF
    -DJOBLIB_BUILD_TOOLS=OFF
    -DJOBLIB_INSTALL=ON
    -DJOBLIB_CMAKE_INSTALL_DIR=share/joblib
)
vcpkg_cmake_install()
vcpkg_cmake_config_fixup(PACKAGE_NAME joblib CONFIG_PATH share/joblib)

file(REMOVE_RECURSE "${CURRENT_PACKAGES_DIR}/lib" "${CURRENT_PACKAGES_DIR}/debug")
file(INSTALL "${CMAKE_CURRENT_LIST_DIR}/usage" DESTINATION "${CURRENT_PACKAGES_DIR}/share/${PORT}")
vcpkg_install_copyright(FILE_LIST "${SOURCE_PATH}/LICENSE")
