# What cmake --install puts under the prefix besides the targets' own rules
# (tacwsd, tools and plugins install themselves): the pkg-config file for
# plugin authors, the default configuration, the systemd unit, the dashboard,
# the plugin template and its tutorial.

# tacws-plugin.pc finds the header relative to itself (${pcfiledir}).
file(RELATIVE_PATH TACWS_PC_TO_PREFIX ${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_LIBDIR}/pkgconfig
     ${CMAKE_INSTALL_PREFIX})
string(REGEX REPLACE "/$" "" TACWS_PC_TO_PREFIX "${TACWS_PC_TO_PREFIX}")
file(STRINGS ${CMAKE_SOURCE_DIR}/include/tacws/plugin.h abi_line
     REGEX "^#define TACWS_PLUGIN_ABI_VERSION [0-9]+")
string(REGEX REPLACE ".* ([0-9]+)$" "\\1" TACWS_ABI_VERSION "${abi_line}")
configure_file(${CMAKE_SOURCE_DIR}/cmake/tacws-plugin.pc.in
               ${CMAKE_BINARY_DIR}/tacws-plugin.pc @ONLY)
install(FILES ${CMAKE_BINARY_DIR}/tacws-plugin.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

install(DIRECTORY ${CMAKE_SOURCE_DIR}/web/ DESTINATION ${TACWS_WEB_INSTALL_RELDIR}
        PATTERN ".*" EXCLUDE PATTERN "README.md" EXCLUDE)
install(DIRECTORY ${CMAKE_SOURCE_DIR}/conf/sql/ DESTINATION ${CMAKE_INSTALL_DATADIR}/tacws/sql)
install(FILES ${CMAKE_SOURCE_DIR}/docs/PLUGINS.md ${CMAKE_SOURCE_DIR}/docs/TAC.md
              ${CMAKE_SOURCE_DIR}/conf/nginx-tacws.conf DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(FILES ${CMAKE_SOURCE_DIR}/tools/python/tacws_publish.py
              ${CMAKE_SOURCE_DIR}/tools/python/README.md
        DESTINATION ${CMAKE_INSTALL_DATADIR}/tacws/python)
install(FILES ${CMAKE_SOURCE_DIR}/plugins/example/example.c
              ${CMAKE_SOURCE_DIR}/plugins/example/Makefile
              ${CMAKE_SOURCE_DIR}/plugins/example/CMakeLists.txt
        DESTINATION ${CMAKE_INSTALL_DOCDIR}/example)

# The configuration and the unit name absolute paths, so they are written at
# install time, for the prefix actually installed to (cmake --install --prefix).
# An existing configuration is kept: it is the administrator's.
set(TACWS_SYSTEMD_UNIT_DIR "lib/systemd/system" CACHE STRING
    "Where the systemd unit goes, relative to the prefix (or absolute)")
install(CODE "
  set(prefix \"\${CMAKE_INSTALL_PREFIX}\")
  set(sysconf \"${CMAKE_INSTALL_SYSCONFDIR}\")
  if(NOT IS_ABSOLUTE \"\${sysconf}\")
    if(prefix STREQUAL \"/usr\")
      set(sysconf \"/etc\")
    else()
      set(sysconf \"\${prefix}/\${sysconf}\")
    endif()
  endif()
  set(plugin_dir \"\${prefix}/${TACWS_PLUGIN_INSTALL_RELDIR}\")
  set(web_dir \"\${prefix}/${TACWS_WEB_INSTALL_RELDIR}\")
  set(TACWS_BIN \"\${prefix}/${CMAKE_INSTALL_BINDIR}\")
  set(TACWS_DOC \"\${prefix}/${CMAKE_INSTALL_DOCDIR}\")
  set(TACWS_CONFIG \"\${sysconf}/tacws/tacws.ini\")
  set(ini \"\$ENV{DESTDIR}\${TACWS_CONFIG}\")
  if(EXISTS \"\${ini}\")
    message(STATUS \"Keeping: \${ini}\")
  else()
    message(STATUS \"Installing: \${ini}\")
    file(READ \"${CMAKE_SOURCE_DIR}/conf/tacws.ini\" text)
    string(REGEX REPLACE \"\\nplugin_dir = [^ \\n]*\" \"\\nplugin_dir = \${plugin_dir}\" text \"\${text}\")
    string(REGEX REPLACE \"\\nweb_dir = [^ \\n]*\" \"\\nweb_dir = \${web_dir}\" text \"\${text}\")
    file(WRITE \"\${ini}\" \"\${text}\")
  endif()
  set(unit_dir \"${TACWS_SYSTEMD_UNIT_DIR}\")
  if(NOT IS_ABSOLUTE \"\${unit_dir}\")
    set(unit_dir \"\${prefix}/\${unit_dir}\")
  endif()
  message(STATUS \"Installing: \$ENV{DESTDIR}\${unit_dir}/tacwsd.service\")
  configure_file(\"${CMAKE_SOURCE_DIR}/conf/tacwsd.service.in\"
                 \"\$ENV{DESTDIR}\${unit_dir}/tacwsd.service\" @ONLY)
")
