# udax_add_test(NAME SOURCES src... [LIBS lib...] [LABELS l...] [TIMEOUT s] [ARGS a...])
# LIBS defaults to the whole library (udax); a layer's tests name their layer.
# Every test is a C program that exits 0 on success, 77 when it skips (it prints
# why), and anything else on failure. Label "concurrency" marks the tests the
# ThreadSanitizer build runs.
function(udax_add_test name)
	cmake_parse_arguments(T "" "TIMEOUT" "SOURCES;LIBS;LABELS;ARGS" ${ARGN})
	if(NOT T_LIBS)
		set(T_LIBS udax)
	endif()
	add_executable(${name} ${T_SOURCES})
	target_link_libraries(${name} PRIVATE udax_testlib ${T_LIBS})
	target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR}/src
				   ${PROJECT_SOURCE_DIR}/tests/common)
	add_test(NAME ${name} COMMAND ${name} ${T_ARGS})
	if(NOT T_TIMEOUT)
		set(T_TIMEOUT 120)
	endif()
	set_tests_properties(${name} PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT ${T_TIMEOUT}
			     LABELS "${T_LABELS}")
endfunction()
