# Linking some of Debian's libraries from their static archives (lib*.a beside each lib*.so).
#
# OTLPD_STATIC_PROTOBUF (on by default): protobuf. Measured at the testbed (bench/, 10k spans/s,
# README.md, Benchmarks): RSS 12.5 -> 11.5 MiB. A shared libprotobuf costs otlpd its whole symbol
# table and relocations (0.8 MiB resident) and the text pages around what runs, for the few
# parts otlpd uses (messages, the descriptors otlp/schema reads at start). The price: a package
# carries its own copy of protobuf, so a Debian security update of libprotobuf reaches otlpd only
# when otlpd is rebuilt (otlpd checks every request's wire format itself, otlp/wire_scan, before
# protobuf parses it). The gRPC client module has its own copy too, hidden (--exclude-libs).
#
# (OTLPD_STATIC_GRPC, which linked gRPC, Abseil, re2, c-ares and upb statically too, is gone:
# gRPC lives in the grpc_client module now, a shared object, and Debian's libre2.a cannot be
# linked into one: its thread-local variables use the executable-only TLS model.)
#
# otlpd_use_static_archives(TARGET...): for each imported target reachable from TARGET through
# INTERFACE_LINK_LIBRARIES, whose library is a shared object with a static archive beside it,
# links the archive instead.
function(otlpd_use_static_archives)
  set(pending ${ARGN})
  set(seen "")
  while(pending)
    list(POP_FRONT pending target)
    if(NOT TARGET ${target} OR target IN_LIST seen)
      continue()
    endif()
    list(APPEND seen ${target})
    get_target_property(imported ${target} IMPORTED)
    if(NOT imported)
      continue()
    endif()
    get_target_property(deps ${target} INTERFACE_LINK_LIBRARIES)
    if(deps)
      list(APPEND pending ${deps})
    endif()
    if(target MATCHES "^(OpenSSL|ZLIB|Threads)::")
      continue()
    endif()
    get_target_property(type ${target} TYPE)
    if(type STREQUAL "INTERFACE_LIBRARY")
      continue()
    endif()
    get_target_property(configs ${target} IMPORTED_CONFIGURATIONS)
    set(properties IMPORTED_LOCATION)
    if(configs)
      foreach(config IN LISTS configs)
        list(APPEND properties IMPORTED_LOCATION_${config})
      endforeach()
    endif()
    foreach(property IN LISTS properties)
      get_target_property(location ${target} ${property})
      if(location MATCHES "^(.*/lib[^/]+)\\.so(\\.[0-9.]+)?$")
        set(archive "${CMAKE_MATCH_1}.a")  # (a separate if: ${CMAKE_MATCH_1} is expanded before MATCHES runs)
        if(EXISTS "${archive}")
          set_target_properties(${target} PROPERTIES ${property} "${archive}")
        endif()
      endif()
    endforeach()
  endwhile()
endfunction()
