# The throwaway PostgreSQL cluster shared by the database tests (a ctest fixture).
# include() it, then tacws_add_pg_test(NAME TARGET) registers TARGET once more as
# NAME, run against the cluster. Tests that need it fail when PostgreSQL is missing.
# One port per build folder, so several builds on one machine can test at once;
# below the ephemeral range (32768 up), where a test client's own port could take it.
string(MD5 _tacws_pg_hash ${CMAKE_BINARY_DIR})
string(SUBSTRING ${_tacws_pg_hash} 0 3 _tacws_pg_hash)
math(EXPR _tacws_pg_port "25432 + 0x${_tacws_pg_hash} % 2000")
set(TACWS_TEST_PG_PORT ${_tacws_pg_port} CACHE STRING "Loopback port of the test PostgreSQL cluster")
set(TACWS_TEST_PG_DIR ${CMAKE_BINARY_DIR}/tacws-pg)
set(TACWS_TEST_PG_SCRIPT ${CMAKE_SOURCE_DIR}/tests/support/pg_cluster.sh)
set(TACWS_TEST_PG_URL postgresql://postgres@127.0.0.1:${TACWS_TEST_PG_PORT}/tacws_test)

# Once for the whole tree (if(TEST) only sees the current folder's tests).
get_property(_tacws_pg_defined GLOBAL PROPERTY TACWS_PG_FIXTURE_DEFINED)
if(NOT _tacws_pg_defined)
  set_property(GLOBAL PROPERTY TACWS_PG_FIXTURE_DEFINED TRUE)
  add_test(NAME tacws_pg_start
           COMMAND sh ${TACWS_TEST_PG_SCRIPT} start ${TACWS_TEST_PG_DIR} ${TACWS_TEST_PG_PORT})
  add_test(NAME tacws_pg_stop COMMAND sh ${TACWS_TEST_PG_SCRIPT} stop ${TACWS_TEST_PG_DIR})
  set_tests_properties(tacws_pg_start PROPERTIES FIXTURES_SETUP tacws_pg RESOURCE_LOCK tacws_pg
                       TIMEOUT 120)
  set_tests_properties(tacws_pg_stop PROPERTIES FIXTURES_CLEANUP tacws_pg RESOURCE_LOCK tacws_pg
                       TIMEOUT 60)
endif()

function(tacws_add_pg_test name target)
  add_test(NAME ${name} COMMAND ${target} WORKING_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR})
  set_tests_properties(${name} PROPERTIES TIMEOUT 300 FIXTURES_REQUIRED tacws_pg
    RESOURCE_LOCK tacws_pg
    ENVIRONMENT "TACWS_TEST_DB=pg;TACWS_TEST_PG_URL=${TACWS_TEST_PG_URL};TACWS_TEST_PG_SCRIPT=${TACWS_TEST_PG_SCRIPT};TACWS_TEST_PG_DIR=${TACWS_TEST_PG_DIR};TACWS_TEST_PG_PORT=${TACWS_TEST_PG_PORT}")
endfunction()
