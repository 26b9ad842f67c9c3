# cmake/packaging.cmake: install rules and Debian packages (cpack -G DEB), one per kind of host:
#   hcrelay   the relay host: hcrelay, its unit and /etc/hcrelay/hcrelay.conf
#   hcctl     wherever the relay is managed from: hcctl
#   hcm       the private-network host: hcm and its unit
#   hcconnect the app host: hcconnect, libhcintercept.so and its unit
# Each service package creates its system user and directories (packaging/deb/*.in). Built and
# installed by tests/package/package_test.sh; the README's "Install" section says how to use them.
include(GNUInstallDirs)

install(TARGETS hcrelay RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT hcrelay)
install(FILES ${CMAKE_SOURCE_DIR}/packaging/systemd/hcrelay.service DESTINATION lib/systemd/system COMPONENT hcrelay)
install(FILES ${CMAKE_SOURCE_DIR}/packaging/hcrelay.conf DESTINATION /etc/hcrelay COMPONENT hcrelay)
install(TARGETS hcctl RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT hcctl)
install(TARGETS hcm RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT hcm)
install(FILES ${CMAKE_SOURCE_DIR}/packaging/systemd/hcm.service DESTINATION lib/systemd/system COMPONENT hcm)
install(TARGETS hcconnect RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT hcconnect)
install(TARGETS hcintercept LIBRARY DESTINATION lib/hcconnect COMPONENT hcconnect)  # run_command.cpp finds it there
install(FILES ${CMAKE_SOURCE_DIR}/packaging/systemd/hcconnect.service DESTINATION lib/systemd/system
        COMPONENT hcconnect)

# Maintainer scripts of one service package: the user and directories named after it; its
# configuration directory's mode and owner (hcm and hcconnect write keys there as the service user).
function(hc_maintainer_scripts service config_mode config_owner)
  set(HC_SERVICE ${service})
  set(HC_CONFIG_MODE ${config_mode})
  set(HC_CONFIG_OWNER ${config_owner})
  set(out ${CMAKE_BINARY_DIR}/packaging/${service})
  foreach(script postinst prerm postrm)
    configure_file(${CMAKE_SOURCE_DIR}/packaging/deb/${script}.in ${out}/${script} @ONLY
                   FILE_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE WORLD_READ
                                    WORLD_EXECUTE)
  endforeach()
  set(extra ${out}/postinst ${out}/prerm ${out}/postrm)
  if(service STREQUAL "hcrelay")
    file(WRITE ${out}/conffiles "/etc/hcrelay/hcrelay.conf\n")
    list(APPEND extra ${out}/conffiles)
  endif()
  string(TOUPPER ${service} upper)
  set(CPACK_DEBIAN_${upper}_PACKAGE_CONTROL_EXTRA ${extra} PARENT_SCOPE)
endfunction()
hc_maintainer_scripts(hcrelay 0755 root)
hc_maintainer_scripts(hcm 0700 hcm)
hc_maintainer_scripts(hcconnect 0700 hcconnect)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME hcrelay)
set(CPACK_PACKAGE_VENDOR "hcrelay developers")
set(CPACK_PACKAGE_CONTACT "hcrelay developers <hcrelay@localhost>")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL hcrelay hcctl hcm hcconnect)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_RELEASE 1)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)  # Depends from the libraries the programs link (dpkg-shlibdeps)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_DEBIAN_HCRELAY_PACKAGE_NAME hcrelay)
set(CPACK_DEBIAN_HCCTL_PACKAGE_NAME hcctl)
set(CPACK_DEBIAN_HCM_PACKAGE_NAME hcm)
set(CPACK_DEBIAN_HCCONNECT_PACKAGE_NAME hcconnect)
foreach(service hcrelay hcm hcconnect)
  string(TOUPPER ${service} upper)
  set(CPACK_DEBIAN_${upper}_PACKAGE_DEPENDS "adduser")
endforeach()
set(CPACK_DEBIAN_HCRELAY_PACKAGE_RECOMMENDS hcctl)
set(CPACK_COMPONENT_HCRELAY_DESCRIPTION
    "Self-hosted Azure Relay Hybrid Connections relay\nWire-compatible with Azure Relay: Microsoft's SDKs and Hybrid Connection Managers connect to it unchanged.")
set(CPACK_COMPONENT_HCCTL_DESCRIPTION
    "Command-line management of hcrelay\nHybrid connections, namespaces, keys, plans and apps of an hcrelay; tcpping and diagnose.")
set(CPACK_COMPONENT_HCM_DESCRIPTION
    "Hybrid Connection Manager for Linux\nCarries hybrid connections from hcrelay or Azure Relay to TCP endpoints in a private network.")
set(CPACK_COMPONENT_HCCONNECT_DESCRIPTION
    "App-side connector of hybrid connections\nLets applications reach hybrid connection endpoints by their DNS names through hcrelay or Azure Relay.")
include(CPack)
