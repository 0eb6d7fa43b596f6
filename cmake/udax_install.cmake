# Installation: libudax.so and libudax.a (every layer the interface target
# `udax` links), the public headers, udax.pc, the udax command, the LD_PRELOAD
# shim and the docs. `cmake --install BUILD --prefix PREFIX`.
include(GNUInstallDirs)

# The static layer libraries behind `udax`, found by walking its link
# interface, so a layer added later needs no edit here.
set(_udax_todo udax)
set(_udax_seen "")
set(UDAX_LAYER_LIBS "")
while(_udax_todo)
	list(POP_FRONT _udax_todo _t)
	string(REGEX REPLACE "^\\$<LINK_ONLY:(.*)>$" "\\1" _t "${_t}")
	if(_t IN_LIST _udax_seen OR NOT TARGET ${_t})
		continue()
	endif()
	list(APPEND _udax_seen ${_t})
	get_target_property(_type ${_t} TYPE)
	if(_type STREQUAL "STATIC_LIBRARY")
		list(APPEND UDAX_LAYER_LIBS ${_t})
	endif()
	get_target_property(_deps ${_t} INTERFACE_LINK_LIBRARIES)
	if(_deps)
		list(APPEND _udax_todo ${_deps})
	endif()
endwhile()

set(_udax_objects "")
foreach(_l ${UDAX_LAYER_LIBS})
	list(APPEND _udax_objects $<TARGET_OBJECTS:${_l}>)
endforeach()

# The exported symbols are exactly the functions the public headers declare
# (a declaration starts in column 0 with its return type): udax_err and the
# other internal udax_* helpers stay hidden.
file(GLOB _udax_headers ${PROJECT_SOURCE_DIR}/include/*.h)
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${_udax_headers})
set(_udax_syms "")
foreach(_h ${_udax_headers})
	file(STRINGS ${_h} _decls REGEX "^[a-z][^(]*[ *]udax_[a-z0-9_]+\\(")
	foreach(_d ${_decls})
		string(REGEX MATCH "udax_[a-z0-9_]+\\(" _name "${_d}")
		string(REPLACE "(" "" _name "${_name}")
		list(APPEND _udax_syms ${_name})
	endforeach()
endforeach()
list(REMOVE_DUPLICATES _udax_syms)
set(_udax_map "UDAX_0 {\n\tglobal:\n")
foreach(_s ${_udax_syms})
	string(APPEND _udax_map "\t\t${_s};\n")
endforeach()
string(APPEND _udax_map "\tlocal:\n\t\t*;\n};\n")
set(UDAX_VERSION_SCRIPT ${CMAKE_BINARY_DIR}/udax.map)
file(WRITE ${UDAX_VERSION_SCRIPT}.tmp "${_udax_map}")
configure_file(${UDAX_VERSION_SCRIPT}.tmp ${UDAX_VERSION_SCRIPT} COPYONLY)

add_library(udax_shared SHARED ${_udax_objects})
set_target_properties(udax_shared PROPERTIES OUTPUT_NAME udax VERSION ${PROJECT_VERSION}
			  SOVERSION ${PROJECT_VERSION_MAJOR} LINK_DEPENDS ${UDAX_VERSION_SCRIPT})
target_link_libraries(udax_shared PRIVATE Threads::Threads ${CMAKE_DL_LIBS}
		      -Wl,--version-script=${UDAX_VERSION_SCRIPT} -Wl,-z,defs)

add_library(udax_static STATIC ${_udax_objects})
set_target_properties(udax_static PROPERTIES OUTPUT_NAME udax)

# udax.pc is relocatable (prefix relative to ${pcfiledir}), so --prefix at
# install time works.
string(REGEX REPLACE "[^/]+" ".." UDAX_PC_PREFIX "${CMAKE_INSTALL_LIBDIR}/pkgconfig")
set(UDAX_PC_LIBS_PRIVATE "-pthread")
foreach(_l ${CMAKE_DL_LIBS})
	string(APPEND UDAX_PC_LIBS_PRIVATE " -l${_l}")
endforeach()
configure_file(${PROJECT_SOURCE_DIR}/cmake/udax.pc.in ${CMAKE_BINARY_DIR}/udax.pc @ONLY)

install(TARGETS udax_shared udax_static LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
	ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(TARGETS udax_tool RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
if(TARGET udax_preload)
	install(TARGETS udax_preload LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
endif()
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
	FILES_MATCHING PATTERN "*.h")
install(FILES ${CMAKE_BINARY_DIR}/udax.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/docs/ DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/examples/ DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples
	FILES_MATCHING PATTERN "*.c" PATTERN "Makefile")
