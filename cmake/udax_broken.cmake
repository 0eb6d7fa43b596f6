# udax_broken_variants(LAYER LINK lib... BUGS name... SOURCES src...)
# Builds udax_<LAYER>_broken_<NAME> from SOURCES with UDAX_BROKEN_<NAME>=1, one
# library per bug, for the regression tests that must catch each bug, and
# records the names in the global property UDAX_<LAYER>_BROKEN for those tests.
function(udax_broken_variants layer)
	cmake_parse_arguments(B "" "" "LINK;BUGS;SOURCES" ${ARGN})
	string(TOUPPER ${layer} upper)
	set_property(GLOBAL PROPERTY UDAX_${upper}_BROKEN ${B_BUGS})
	foreach(bug ${B_BUGS})
		add_library(udax_${layer}_broken_${bug} STATIC ${B_SOURCES})
		target_compile_definitions(udax_${layer}_broken_${bug} PRIVATE UDAX_BROKEN_${bug}=1)
		target_link_libraries(udax_${layer}_broken_${bug} PUBLIC ${B_LINK})
	endforeach()
endfunction()
