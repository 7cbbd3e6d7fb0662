# The API reference: `cmake --build <dir> --target docs` (mproc_docs when
# mproc is part of another project, whose own `docs` target may exist).
#
# The target always exists. Doxygen is looked for when the target runs, not
# when CMake configures: install Doxygen after configuring and build the
# target again, no re-configure needed. Without Doxygen the target fails
# with a sentence that says what to install.
#
# Input: README.md (the main page), the public headers (each one's @file
# overview and every declaration's doc comment) and the guide pages in
# docs/. Output: <build>/apidoc/html/index.html. Doxygen's warnings are
# printed; with MPROC_WERROR on (CI) any warning fails the target.
set(MPROC_DOCS_OUT ${PROJECT_BINARY_DIR}/apidoc)
configure_file(${CMAKE_CURRENT_LIST_DIR}/Doxyfile.in
               ${PROJECT_BINARY_DIR}/Doxyfile @ONLY)
find_program(MPROC_DOXYGEN doxygen
  DOC "Doxygen for the docs target (found again at build time if unset)")
file(GLOB MPROC_DOCS_DEPENDS CONFIGURE_DEPENDS
     ${PROJECT_SOURCE_DIR}/include/*.h ${PROJECT_SOURCE_DIR}/include/mproc/*.h
     ${PROJECT_SOURCE_DIR}/docs/*.md)
add_custom_target(mproc_docs
  COMMAND ${CMAKE_COMMAND} -DDOXYFILE=${PROJECT_BINARY_DIR}/Doxyfile
          -DOUT=${MPROC_DOCS_OUT} -DDOXYGEN_HINT=${MPROC_DOXYGEN}
          -DWERROR=${MPROC_WERROR}
          -P ${CMAKE_CURRENT_LIST_DIR}/mproc-docs-run.cmake
  WORKING_DIRECTORY ${PROJECT_SOURCE_DIR}
  SOURCES ${PROJECT_SOURCE_DIR}/README.md ${MPROC_DOCS_DEPENDS}
  COMMENT "API reference with Doxygen: ${MPROC_DOCS_OUT}/html/index.html"
  VERBATIM)
if(MPROC_TOP_LEVEL)
  add_custom_target(docs DEPENDS mproc_docs)
endif()
