# Runs at install time (cmake --install, cpack), after packaging/CMakeLists.txt set
# OTLPD_CONFIG_SOURCE, OTLPD_UNIT_SOURCE, OTLPD_UNIT_STAGED and OTLPD_BINDIR.
# The configuration goes to /etc/otlpd with the prefix /usr, else to <prefix>/etc/otlpd
# (GNUInstallDirs' rule, applied to the prefix given when installing).
if(CMAKE_INSTALL_PREFIX STREQUAL "/usr")
  set(_etc "/etc")
else()
  set(_etc "${CMAKE_INSTALL_PREFIX}/etc")
endif()
file(INSTALL DESTINATION "${_etc}/otlpd" TYPE FILE RENAME config.yaml FILES "${OTLPD_CONFIG_SOURCE}")

# The unit names /usr/bin/otlpd and /etc/otlpd/config.yaml: other prefixes get their own paths.
file(READ "${OTLPD_UNIT_SOURCE}" _text)
string(REPLACE "/usr/bin/otlpd" "${CMAKE_INSTALL_PREFIX}/${OTLPD_BINDIR}/otlpd" _text "${_text}")
string(REPLACE "/etc/otlpd/" "${_etc}/otlpd/" _text "${_text}")
file(WRITE "${OTLPD_UNIT_STAGED}" "${_text}")
file(INSTALL DESTINATION "${CMAKE_INSTALL_PREFIX}/lib/systemd/system" TYPE FILE
     FILES "${OTLPD_UNIT_STAGED}")
