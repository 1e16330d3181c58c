/*
 * tests/unit/under_asan.h - UNDER_ASAN is defined when a unit test is built
 * with AddressSanitizer (make asan): a test then skips what ASan cannot
 * take (an address-space limit) or runs fewer seeds of a property it
 * checks in full in the plain build (make unit), as make asan runs fewer
 * simulator seeds.
 */
#ifndef UNDER_ASAN_H
#define UNDER_ASAN_H

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

#endif
