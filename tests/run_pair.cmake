# Run a server and a client program against each other:
#   cmake -DSERVER="prog|args" -DCLIENT="prog|args" [-DSERVER_RC=0]
#         [-DCLIENT_RC=0] [-DMATCH=regex] -P run_pair.cmake
# The two run as a pipeline: the server prints its address on its first
# line once it listens, and the client (address "-") reads it from its
# standard input — readiness is signalled, never waited for by time.
string(REPLACE "|" ";" server "${SERVER}")
string(REPLACE "|" ";" client "${CLIENT}")
if(NOT DEFINED SERVER_RC)
  set(SERVER_RC 0)
endif()
if(NOT DEFINED CLIENT_RC)
  set(CLIENT_RC 0)
endif()
execute_process(COMMAND ${server} COMMAND ${client}
  RESULTS_VARIABLE codes OUTPUT_VARIABLE out ERROR_VARIABLE err
  TIMEOUT 240)
message("server: ${server}\nclient: ${client}\nexit codes: ${codes}\n"
        "client output:\n${out}\nerrors:\n${err}")
list(GET codes 0 src)
list(GET codes 1 crc)
if(NOT src STREQUAL "${SERVER_RC}" OR NOT crc STREQUAL "${CLIENT_RC}")
  message(FATAL_ERROR "expected exit codes ${SERVER_RC} (server) and "
          "${CLIENT_RC} (client), got ${src} and ${crc}")
endif()
if(DEFINED MATCH AND NOT out MATCHES "${MATCH}")
  message(FATAL_ERROR "the client's output does not match: ${MATCH}")
endif()
