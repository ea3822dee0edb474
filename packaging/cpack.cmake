# The Debian package's metadata: `cpack -G DEB` in the build tree writes
# aegir3-skynet_<version>-<release>_<arch>.deb there (SPEC §5). Included by the top-level
# CMakeLists.txt after packaging/install.cmake, whose install() rules are the package's contents.
#
# Contract:
# - Name, version (project(VERSION) plus SKYNET_PACKAGE_RELEASE), file name as Debian names it.
# - Depends is computed by dpkg-shlibdeps from the stripped binary, never listed by hand, so it
#   names exactly the Poco, yaml-cpp and MariaDB client libraries the binary was linked against.
# - Recommends supervisor (runs the daemon) and sudo (the drush hook starts the program through
#   it); Suggests aegir3-hostmaster: the package installs without Aegir, and does nothing until
#   the feature is enabled in a hostmaster front end.
# - Maintainer scripts: packaging/postinst, prerm, postrm (they never touch a database, never
#   start or stop the daemon); conffiles: packaging/conffiles.

set(SKYNET_PACKAGE_MAINTAINER "Skynet maintainers <maintainers@users.noreply.r-seed-7ab62206.example>"
    CACHE STRING "The Maintainer field of the Debian package")
set(SKYNET_PACKAGE_HOMEPAGE "https://www.aegirproject.org/"
    CACHE STRING "The Homepage field of the Debian package")

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME ${SKYNET_PACKAGE_NAME})
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT ${SKYNET_PACKAGE_MAINTAINER})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "native task queue daemon for the Aegir hosting system")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)

set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_RELEASE ${SKYNET_PACKAGE_RELEASE})
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_MAINTAINER ${SKYNET_PACKAGE_MAINTAINER})
set(CPACK_DEBIAN_PACKAGE_HOMEPAGE ${SKYNET_PACKAGE_HOMEPAGE})
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "supervisor, sudo")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "aegir3-hostmaster")
# The long description: CPack puts the summary above it as the synopsis, indents each line by one
# space and turns the empty line into the " ." paragraph separator.
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION "Skynet takes the tasks the Aegir front end queues (verify, install, backup,
migrate, clone, delete) the moment they are queued, claims each one
atomically in the hostmaster database and runs it with drush as a
supervised child process: it kills what hangs, finishes what died, retries
what never started and keeps going while the database is away. It replaces
Aegir's cron dispatcher and the hosting-queued daemon, and serves a
token-authenticated HTTP API that tracks runs of project scripts.

This package ships the daemon, the hosting_skynet Drupal module (linked
into each hostmaster platform), the drush extension, the configuration
templates, a supervisor program and a sudoers snippet. Enable the Skynet
queue daemon feature in the hostmaster front end to start it.")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
  ${PROJECT_SOURCE_DIR}/packaging/conffiles
  ${PROJECT_SOURCE_DIR}/packaging/postinst
  ${PROJECT_SOURCE_DIR}/packaging/prerm
  ${PROJECT_SOURCE_DIR}/packaging/postrm)
# Maintainer scripts 0755, conffiles 0644, whatever the checkout's modes.
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)

include(CPack)
