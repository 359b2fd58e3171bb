# install_config.cmake — install-time step: put the annotated config in
# place unless the target already has one.  An operator's edited config
# survives a reinstall or an upgrade; the shipped file is always also
# installed beside it as leo-alertd.yaml.dist, so changes can be compared.
# Set by the project before this runs: leo_cfg_dir (absolute, or relative
# to the install prefix), leo_cfg_src (the shipped file).
if(NOT IS_ABSOLUTE "${leo_cfg_dir}")
	set(leo_cfg_dir "${CMAKE_INSTALL_PREFIX}/${leo_cfg_dir}")
endif()
file(INSTALL DESTINATION "${leo_cfg_dir}" TYPE FILE
	RENAME leo-alertd.yaml.dist FILES "${leo_cfg_src}")
if(EXISTS "$ENV{DESTDIR}${leo_cfg_dir}/leo-alertd.yaml")
	message(STATUS "Kept: $ENV{DESTDIR}${leo_cfg_dir}/leo-alertd.yaml (exists; the shipped one is leo-alertd.yaml.dist)")
else()
	file(INSTALL DESTINATION "${leo_cfg_dir}" TYPE FILE FILES "${leo_cfg_src}")
endif()
