# The database feeds on TAC's database at three migration levels (tac_db.c): SQLite as
# TAC first created it, SQLite after every migration, PostgreSQL after every migration.
include(${CMAKE_SOURCE_DIR}/tests/plugins/common_db/pg.cmake)
tacws_add_contract_test(db_feeds_test
  SOURCES db_feeds_test.c tac_db.c ${CMAKE_SOURCE_DIR}/tests/plugins/common_db/dbfix.c
  PLUGINS queue history planned_features
  LIBS PkgConfig::SQLITE3 PkgConfig::LIBPQ)
target_include_directories(db_feeds_test PRIVATE ${CMAKE_SOURCE_DIR}/tests/plugins/common_db)
target_compile_definitions(db_feeds_test PRIVATE TACWS_SOURCE_DIR="${CMAKE_SOURCE_DIR}")
tacws_add_pg_test(db_feeds_test_pg db_feeds_test)
