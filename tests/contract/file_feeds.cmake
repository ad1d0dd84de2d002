# The feeds read from files and HTTP services: workflows, adw-state, adw-monitor,
# system-status, webhook-status, qc-metrics, routes.
tacws_add_contract_test(file_feeds_contract_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/file_feeds_test.c
  PLUGINS workflows adw_state adw_monitor system_status webhook_status qc_metrics routes
  LIBS PkgConfig::SQLITE3)
