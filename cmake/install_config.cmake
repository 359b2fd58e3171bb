# install_config.cmake — install-time step: put the annotated config in
# place unless the target already has one.  An operator's edited config
# survives a reinstall or an upgrade; the shipped file is always also
# installed beside it as NAME.dist, so changes can be compared.
# Set by the project before this runs: leo_cfg_dir (absolute, or relative
# to the install prefix), leo_cfg_src (the shipped file, its name NAME).
get_filename_component(leo_cfg_name "${leo_cfg_src}" NAME)
if(NOT IS_ABSOLUTE "${leo_cfg_dir}")
	set(leo_cfg_dir "${CMAKE_INSTALL_PREFIX}/${leo_cfg_dir}")
endif()
file(INSTALL DESTINATION "${leo_cfg_dir}" TYPE FILE
	RENAME ${leo_cfg_name}.dist FILES "${leo_cfg_src}")
if(EXISTS "$ENV{DESTDIR}${leo_cfg_dir}/${leo_cfg_name}")
	message(STATUS "Kept: $ENV{DESTDIR}${leo_cfg_dir}/${leo_cfg_name} (exists; the shipped one is ${leo_cfg_name}.dist)")
else()
	file(INSTALL DESTINATION "${leo_cfg_dir}" TYPE FILE FILES "${leo_cfg_src}")
endif()
