# OTLPD_STATIC_GRPC: link gRPC, protobuf, Abseil, re2, c-ares and upb from Debian's static
# archives (lib*.a beside each lib*.so) instead of their shared libraries; OpenSSL, zlib and the
# C and C++ runtimes stay shared (security updates of OpenSSL keep applying). Measured in
# README.md (Benchmarks): RSS idle 18.3 -> 15.3 MiB, testbed 20.6 -> 17.0 MiB, since the
# process no longer maps some 40 shared objects (their relocated data, symbol tables and the
# text pages around what runs). Off by default: a package built so carries its own copy of
# gRPC and protobuf, which Debian's security updates of those libraries would not reach.
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
      # re2::re2 is an INTERFACE target carrying -lre2 from pkg-config: name the archive instead.
      if(deps)
        list(TRANSFORM deps REPLACE "^-l(re2)$" "${CMAKE_LIBRARY_ARCHITECTURE_DIR}/lib\\1.a")
        set_target_properties(${target} PROPERTIES INTERFACE_LINK_LIBRARIES "${deps}")
      endif()
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
