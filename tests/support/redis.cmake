# The throwaway redis-server shared by the cluster tests (a ctest fixture).
# include() it, then tacws_add_redis_test(NAME TARGET) registers TARGET once more as
# NAME, run against it. Tests that need it fail when redis-server is missing.
# One port per build folder, so several builds on one machine can test at once;
# below the ephemeral range, beside the PostgreSQL fixture's (25432-27431).
string(MD5 _tacws_redis_hash ${CMAKE_BINARY_DIR})
string(SUBSTRING ${_tacws_redis_hash} 0 3 _tacws_redis_hash)
math(EXPR _tacws_redis_port "27500 + 0x${_tacws_redis_hash} % 2000")
set(TACWS_TEST_REDIS_PORT ${_tacws_redis_port} CACHE STRING "Loopback port of the test redis-server")
set(TACWS_TEST_REDIS_DIR ${CMAKE_BINARY_DIR}/tacws-redis)
set(TACWS_TEST_REDIS_SCRIPT ${CMAKE_SOURCE_DIR}/tests/support/redis_server.sh)

get_property(_tacws_redis_defined GLOBAL PROPERTY TACWS_REDIS_FIXTURE_DEFINED)
if(NOT _tacws_redis_defined)
  set_property(GLOBAL PROPERTY TACWS_REDIS_FIXTURE_DEFINED TRUE)
  add_test(NAME tacws_redis_start
           COMMAND sh ${TACWS_TEST_REDIS_SCRIPT} start ${TACWS_TEST_REDIS_DIR} ${TACWS_TEST_REDIS_PORT})
  add_test(NAME tacws_redis_stop COMMAND sh ${TACWS_TEST_REDIS_SCRIPT} stop ${TACWS_TEST_REDIS_DIR})
  set_tests_properties(tacws_redis_start PROPERTIES FIXTURES_SETUP tacws_redis
                       RESOURCE_LOCK tacws_redis TIMEOUT 60)
  set_tests_properties(tacws_redis_stop PROPERTIES FIXTURES_CLEANUP tacws_redis
                       RESOURCE_LOCK tacws_redis TIMEOUT 60)
endif()

# The test gets the server's address, folder and the script (to stop and restart it).
function(tacws_add_redis_test name target)
  add_test(NAME ${name} COMMAND ${target} WORKING_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR})
  set_tests_properties(${name} PROPERTIES TIMEOUT 300 FIXTURES_REQUIRED tacws_redis
    RESOURCE_LOCK tacws_redis
    ENVIRONMENT "TACWS_TEST_REDIS_URL=redis://127.0.0.1:${TACWS_TEST_REDIS_PORT};TACWS_TEST_REDIS_PORT=${TACWS_TEST_REDIS_PORT};TACWS_TEST_REDIS_SCRIPT=${TACWS_TEST_REDIS_SCRIPT};TACWS_TEST_REDIS_DIR=${TACWS_TEST_REDIS_DIR}")
endfunction()
