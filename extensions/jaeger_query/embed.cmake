# Turns the viewer's page into a C++ header: cmake -DIN=index.html -DOUT=viewer_html.h -P embed.cmake
file(READ ${IN} CONTENT)
string(FIND "${CONTENT}" ")otlpd_viewer\"" CLASH)
if(NOT CLASH EQUAL -1)
  message(FATAL_ERROR "${IN} contains the raw string delimiter")
endif()
file(WRITE ${OUT} "#pragma once\n// Generated from extensions/jaeger_query/viewer/index.html by embed.cmake.\n#include <string_view>\nnamespace otlpd {\ninline constexpr std::string_view kViewerHtml = R\"otlpd_viewer(${CONTENT})otlpd_viewer\";\n}\n")
