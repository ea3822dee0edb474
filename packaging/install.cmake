# Where each part of Skynet goes on an Aegir server: the install() rules the Debian package is
# built from (README "Package layout"). Included by the top-level CMakeLists.txt after native/
# (it installs the skynet target) and before tests/ (SKYNET_DEBIAN_VERSION names the .deb).
#
# Contract:
# - Paths below the prefix (CPack's /usr): lib/aegir3-skynet/skynet (the daemon, stripped by
#   CPack), bin/skynet (a relative link to it), share/drush/commands/skynet (drush/),
#   share/aegir3-skynet/modules/hosting_skynet (drupal-module/hosting_skynet/),
#   share/aegir3-skynet/templates (templates/), the man page, the doc files, the lintian overrides.
# - Absolute paths, because supervisor and sudo read nowhere else:
#   /etc/supervisor/conf.d/skynet-queue.conf and /etc/sudoers.d/aegir3-skynet, both rendered here
#   from templates/ with configure_file(@ONLY) and both conffiles (packaging/conffiles).
# - A missing or malformed input never breaks the daemon's build or its tests: it is reported at
#   configure time as a warning, and `cmake --install` / `cpack` then stop with that message, so
#   no package is ever built from a partial tree.
# Every mode is explicit: the package must not depend on the umask of whoever built it.

set(SKYNET_AEGIR_ROOT /var/aegir CACHE STRING "The aegir user's HOME on the target (aegir_root)")
set(SKYNET_AEGIR_USER aegir CACHE STRING "The user Aegir and the daemon run as")

set(SKYNET_PACKAGE_NAME aegir3-skynet)
set(SKYNET_PACKAGE_RELEASE 1)  # the Debian revision: packaging/changelog must name it
set(SKYNET_PACKAGE_LIBEXEC lib/${SKYNET_PACKAGE_NAME})
set(SKYNET_PACKAGE_DOC share/doc/${SKYNET_PACKAGE_NAME})
set(SKYNET_PACKAGE_STAGE ${CMAKE_BINARY_DIR}/packaging)
file(MAKE_DIRECTORY ${SKYNET_PACKAGE_STAGE})

set(SKYNET_PACKAGE_PROBLEMS "")
function(skynet_package_problem text)
  message(WARNING "Debian package: ${text}")
  set(SKYNET_PACKAGE_PROBLEMS "${SKYNET_PACKAGE_PROBLEMS}\n  ${text}" PARENT_SCOPE)
endfunction()

# The one list of what a template may ask for: anything else would silently render as empty.
set(SKYNET_TEMPLATE_PLACEHOLDERS aegir_root aegir_user skynet_binary config_file log_dir)

# Renders templates/<name> into the staging folder as <output>; reports a missing template or an
# unknown @placeholder@ instead of writing a broken file.
function(skynet_render_template name output)
  set(template ${PROJECT_SOURCE_DIR}/templates/${name})
  if(NOT EXISTS ${template})
    skynet_package_problem("templates/${name} is missing (it comes with the Aegir integration, branch aegir)")
    set(SKYNET_PACKAGE_PROBLEMS "${SKYNET_PACKAGE_PROBLEMS}" PARENT_SCOPE)
    return()
  endif()
  file(READ ${template} text)
  string(REGEX MATCHALL "@[A-Za-z_]+@" used "${text}")
  foreach(placeholder IN LISTS used)
    string(REPLACE "@" "" key ${placeholder})
    if(NOT key IN_LIST SKYNET_TEMPLATE_PLACEHOLDERS)
      skynet_package_problem("templates/${name} uses ${placeholder}; the package renders only ${SKYNET_TEMPLATE_PLACEHOLDERS}")
    endif()
  endforeach()
  set(aegir_root ${SKYNET_AEGIR_ROOT})
  set(aegir_user ${SKYNET_AEGIR_USER})
  # The copy the hostmaster verify installs and watches, not the packaged one: an upgrade of the
  # package must not swap the binary under a running daemon (SPEC §4).
  set(skynet_binary ${SKYNET_AEGIR_ROOT}/config/skynet/skynet)
  set(config_file ${SKYNET_AEGIR_ROOT}/config/skynet/skynet.conf)
  # Debian's supervisor keeps its programs' logs there (the drush hook's default too).
  set(log_dir /var/log/supervisor)
  configure_file(${template} ${SKYNET_PACKAGE_STAGE}/${output} @ONLY)
  set(SKYNET_PACKAGE_PROBLEMS "${SKYNET_PACKAGE_PROBLEMS}" PARENT_SCOPE)
endfunction()

function(skynet_require_folder folder what)
  if(NOT IS_DIRECTORY ${PROJECT_SOURCE_DIR}/${folder})
    skynet_package_problem("${folder}/ is missing (${what})")
  endif()
  set(SKYNET_PACKAGE_PROBLEMS "${SKYNET_PACKAGE_PROBLEMS}" PARENT_SCOPE)
endfunction()

# The Debian version is project(VERSION)-release; the changelog's latest entry must say the same,
# or the package would document another version than it installs.
set(SKYNET_DEBIAN_VERSION ${PROJECT_VERSION}-${SKYNET_PACKAGE_RELEASE})
file(STRINGS ${PROJECT_SOURCE_DIR}/packaging/changelog changelog_head LIMIT_COUNT 1)
if(NOT changelog_head MATCHES "^${SKYNET_PACKAGE_NAME} \\(${SKYNET_DEBIAN_VERSION}\\) ")
  skynet_package_problem("packaging/changelog starts with '${changelog_head}'; its latest entry must be ${SKYNET_PACKAGE_NAME} (${SKYNET_DEBIAN_VERSION})")
endif()

skynet_render_template(skynet-queue.supervisor.conf skynet-queue.conf)
skynet_render_template(sudoers sudoers)
skynet_require_folder(drupal-module/hosting_skynet "the Drupal module, branch aegir")
skynet_require_folder(drush "the drush extension")

if(SKYNET_PACKAGE_PROBLEMS)
  string(REPLACE "\"" "'" problems "${SKYNET_PACKAGE_PROBLEMS}")
  install(CODE "message(FATAL_ERROR \"cannot build the Debian package:${problems}\")")
endif()

# The daemon is not on the PATH itself: the drush hook copies it to ~/config/skynet/, where
# supervisor runs it. /usr/bin/skynet is a relative link for `skynet check` / `status` by hand.
install(TARGETS skynet RUNTIME DESTINATION ${SKYNET_PACKAGE_LIBEXEC}
        PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)
file(CREATE_LINK ../${SKYNET_PACKAGE_LIBEXEC}/skynet ${SKYNET_PACKAGE_STAGE}/skynet SYMBOLIC)
install(FILES ${SKYNET_PACKAGE_STAGE}/skynet DESTINATION bin)

set(skynet_data_permissions
  FILE_PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ
  DIRECTORY_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE
                        WORLD_READ WORLD_EXECUTE)
set(CMAKE_INSTALL_DEFAULT_DIRECTORY_PERMISSIONS
  OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)

# drush finds commands in /usr/share/drush/commands; the module is linked into each hostmaster
# platform by the postinst; the templates are read by the drush extension at verify time.
install(DIRECTORY ${PROJECT_SOURCE_DIR}/drush/ DESTINATION share/drush/commands/skynet
        ${skynet_data_permissions})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/drupal-module/hosting_skynet/
        DESTINATION share/${SKYNET_PACKAGE_NAME}/modules/hosting_skynet ${skynet_data_permissions})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/templates/ DESTINATION share/${SKYNET_PACKAGE_NAME}/templates
        ${skynet_data_permissions})

install(FILES ${SKYNET_PACKAGE_STAGE}/skynet-queue.conf DESTINATION /etc/supervisor/conf.d
        PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
# sudo refuses a sudoers file that others can write, and ignores names with a dot in them.
install(FILES ${SKYNET_PACKAGE_STAGE}/sudoers DESTINATION /etc/sudoers.d RENAME ${SKYNET_PACKAGE_NAME}
        PERMISSIONS OWNER_READ GROUP_READ)

# Debian policy: the changelog and the man page gzipped with -9n (no name, no timestamp, so the
# package is reproducible); the copyright file in the machine-readable format.
configure_file(${PROJECT_SOURCE_DIR}/packaging/skynet.1.in ${SKYNET_PACKAGE_STAGE}/skynet.1 @ONLY)
add_custom_command(
  OUTPUT ${SKYNET_PACKAGE_STAGE}/changelog.Debian.gz
  COMMAND gzip -9n -c ${PROJECT_SOURCE_DIR}/packaging/changelog > ${SKYNET_PACKAGE_STAGE}/changelog.Debian.gz
  DEPENDS ${PROJECT_SOURCE_DIR}/packaging/changelog
  COMMENT "Compressing the Debian changelog")
add_custom_command(
  OUTPUT ${SKYNET_PACKAGE_STAGE}/skynet.1.gz
  COMMAND gzip -9n -c ${SKYNET_PACKAGE_STAGE}/skynet.1 > ${SKYNET_PACKAGE_STAGE}/skynet.1.gz
  DEPENDS ${SKYNET_PACKAGE_STAGE}/skynet.1
  COMMENT "Compressing the man page")
add_custom_target(skynet_package_docs ALL
  DEPENDS ${SKYNET_PACKAGE_STAGE}/changelog.Debian.gz ${SKYNET_PACKAGE_STAGE}/skynet.1.gz)

set(skynet_doc_permissions PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
install(FILES ${PROJECT_SOURCE_DIR}/packaging/copyright ${SKYNET_PACKAGE_STAGE}/changelog.Debian.gz
        DESTINATION ${SKYNET_PACKAGE_DOC} ${skynet_doc_permissions})
install(FILES ${SKYNET_PACKAGE_STAGE}/skynet.1.gz DESTINATION share/man/man1 ${skynet_doc_permissions})
install(FILES ${PROJECT_SOURCE_DIR}/packaging/lintian-overrides DESTINATION share/lintian/overrides
        RENAME ${SKYNET_PACKAGE_NAME} ${skynet_doc_permissions})
