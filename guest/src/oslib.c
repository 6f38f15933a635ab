/*
 * oslib.c - the `os` library (reference §4.9): clock, time, date, difftime only.
 *
 * Time comes only from the host (host.h). Local time is UTC inside the sandbox. Civil-calendar conversion
 * (proleptic Gregorian, 400-year eras of 146097 days) and the strftime subset are implemented here; those pure
 * parts are tested on their own by guest/tests/libs_test.c (PAL_LIBS_PURE).
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "pal.h"

/* broken-down time, like struct tm but with a 64-bit year and full values (month 1..12, yday 1..366) */
typedef struct CivilTime {
  int64_t year;
  int month; /* 1..12 */
  int day;   /* 1..31 */
  int hour, min, sec;
  int wday; /* 1..7, Sunday = 1 */
  int yday; /* 1..366 */
} CivilTime;

static int64_t floordiv64(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) q--;
  return q;
}


/* days since 1970-01-01 of the given date; month may be any value (normalised into the year) */
static int64_t days_from_civil(int64_t y, int64_t m, int64_t d) {
  y += floordiv64(m - 1, 12);
  m = (m - 1) - floordiv64(m - 1, 12) * 12 + 1; /* 1..12 */
  /* shift the year to start in March so the leap day is the last day of the shifted year */
  if (m <= 2) y -= 1;
  int64_t era = floordiv64(y, 400);
  int64_t yoe = y - era * 400;                        /* 0..399 */
  int64_t mp = (m + 9) % 12;                          /* March = 0 ... February = 11 */
  int64_t doy = (153 * mp + 2) / 5 + d - 1;           /* day of the shifted year */
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy; /* day of the era */
  return era * 146097 + doe - 719468;                 /* 719468 = days from 0000-03-01 to 1970-01-01 */
}

static void civil_from_days(int64_t z, int64_t *y, int *m, int *d) {
  z += 719468;
  int64_t era = floordiv64(z, 146097);
  int64_t doe = z - era * 146097;                                    /* 0..146096 */
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365; /* 0..399 */
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);              /* 0..365 */
  int64_t mp = (5 * doy + 2) / 153;                                   /* 0..11 */
  *d = (int)(doy - (153 * mp + 2) / 5 + 1);
  *m = (int)(mp < 10 ? mp + 3 : mp - 9);
  *y = yoe + era * 400 + (*m <= 2 ? 1 : 0);
}

/* seconds since the epoch -> broken-down UTC time */
static void civil_from_time(int64_t t, CivilTime *ct) {
  int64_t days = floordiv64(t, 86400);
  int64_t secs = t - days * 86400;
  civil_from_days(days, &ct->year, &ct->month, &ct->day);
  ct->hour = (int)(secs / 3600);
  ct->min = (int)(secs / 60 % 60);
  ct->sec = (int)(secs % 60);
  ct->wday = (int)(((days % 7) + 7 + 4) % 7) + 1; /* 1970-01-01 was a Thursday (wday 5) */
  ct->yday = (int)(days - days_from_civil(ct->year, 1, 1)) + 1;
}

/* broken-down fields (any ranges, normalised like timegm) -> seconds since the epoch */
static int64_t time_from_civil(int64_t year, int64_t month, int64_t day, int64_t hour, int64_t min, int64_t sec) {
  return days_from_civil(year, month, 1) * 86400 + (day - 1) * 86400 + hour * 3600 + min * 60 + sec;
}

/* ---- strftime subset: conversions aAbBcdHIjmMpSUwWxXyYzZ% ---- */
static const char *const wday_names[7] = {"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday",
                                          "Saturday"};
static const char *const month_names[12] = {"January", "February", "March",     "April",   "May",      "June",
                                            "July",    "August",   "September", "October", "November", "December"};

static int date_valid_conv(int c) { return c != 0 && strchr("aAbBcdHIjmMpSUwWxXyYzZ%", c) != NULL; }

typedef struct DateOut {
  char *p;    /* NULL: only count */
  size_t n;   /* bytes produced so far */
} DateOut;

static void out_bytes(DateOut *o, const char *s, size_t len) {
  if (o->p) memcpy(o->p + o->n, s, len);
  o->n += len;
}

static void out_str(DateOut *o, const char *s) { out_bytes(o, s, strlen(s)); }

/* decimal with at least `width` digits, padded with `pad` ('0' or ' ') */
static void out_int(DateOut *o, int64_t v, int width, char pad) {
  char tmp[32];
  int n = 0, neg = v < 0;
  uint64_t u = neg ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
  do {
    tmp[n++] = (char)('0' + (int)(u % 10));
    u /= 10;
  } while (u != 0);
  while (n < width) tmp[n++] = pad;
  if (neg) tmp[n++] = '-';
  char rev[32];
  for (int i = 0; i < n; i++) rev[i] = tmp[n - 1 - i];
  out_bytes(o, rev, (size_t)n);
}

static void out_conv(DateOut *o, int c, const CivilTime *t, int utc) {
  switch (c) {
    case 'a': out_bytes(o, wday_names[t->wday - 1], 3); break;
    case 'A': out_str(o, wday_names[t->wday - 1]); break;
    case 'b': out_bytes(o, month_names[t->month - 1], 3); break;
    case 'B': out_str(o, month_names[t->month - 1]); break;
    case 'c': /* C locale: "%a %b %e %H:%M:%S %Y" */
      out_conv(o, 'a', t, utc);
      out_str(o, " ");
      out_conv(o, 'b', t, utc);
      out_str(o, " ");
      out_int(o, t->day, 2, ' ');
      out_str(o, " ");
      out_conv(o, 'X', t, utc);
      out_str(o, " ");
      out_conv(o, 'Y', t, utc);
      break;
    case 'd': out_int(o, t->day, 2, '0'); break;
    case 'H': out_int(o, t->hour, 2, '0'); break;
    case 'I': out_int(o, t->hour % 12 == 0 ? 12 : t->hour % 12, 2, '0'); break;
    case 'j': out_int(o, t->yday, 3, '0'); break;
    case 'm': out_int(o, t->month, 2, '0'); break;
    case 'M': out_int(o, t->min, 2, '0'); break;
    case 'p': out_str(o, t->hour < 12 ? "AM" : "PM"); break;
    case 'S': out_int(o, t->sec, 2, '0'); break;
    case 'U': out_int(o, (t->yday - 1 + 7 - (t->wday - 1)) / 7, 2, '0'); break;
    case 'w': out_int(o, t->wday - 1, 1, '0'); break;
    case 'W': out_int(o, (t->yday - 1 + 7 - ((t->wday - 1 + 6) % 7)) / 7, 2, '0'); break;
    case 'x': /* C locale: "%m/%d/%y" */
      out_conv(o, 'm', t, utc);
      out_str(o, "/");
      out_conv(o, 'd', t, utc);
      out_str(o, "/");
      out_conv(o, 'y', t, utc);
      break;
    case 'X':
      out_conv(o, 'H', t, utc);
      out_str(o, ":");
      out_conv(o, 'M', t, utc);
      out_str(o, ":");
      out_conv(o, 'S', t, utc);
      break;
    case 'y': out_int(o, ((t->year % 100) + 100) % 100, 2, '0'); break;
    case 'Y': out_int(o, t->year, 1, '0'); break;
    case 'z': out_str(o, "+0000"); break;
    case 'Z': out_str(o, utc ? "GMT" : "UTC"); break;
    case '%': out_str(o, "%"); break;
    default: break;
  }
}

/* Format fmt (already stripped of '!'); returns the length, or -1 if a conversion is invalid.
   With o->p == NULL only measures. */
static int64_t date_format(DateOut *o, const char *fmt, size_t len, const CivilTime *t, int utc) {
  for (size_t i = 0; i < len; i++) {
    if (fmt[i] != '%') {
      out_bytes(o, fmt + i, 1);
      continue;
    }
    if (i + 1 >= len || !date_valid_conv((unsigned char)fmt[i + 1])) return -1;
    out_conv(o, fmt[++i], t, utc);
  }
  return (int64_t)o->n;
}

/* Seconds -> broken-down time for os.date; 0 if not representable (nil result). */
static int date_breakdown(double tv, int utc, CivilTime *ct) {
  if (!(tv > -1e16 && tv < 1e16)) return 0; /* NaN, inf, or years far beyond any calendar use */
  int64_t t = (int64_t)tv;                  /* truncation, like a C time_t conversion */
  if (!utc && t < 0) return 0;              /* negative local times -> nil */
  civil_from_time(t, ct);
  return 1;
}

#ifndef PAL_LIBS_PURE
#include "host.h"

static int os_clock(pal_State *L) {
  pal_pushnumber(L, pal_host_now(0));
  return 1;
}

static int os_difftime(pal_State *L) {
  double t2 = pal_checknumber(L, 1), t1 = pal_optnumber(L, 2, 0.0);
  pal_pushnumber(L, t2 - t1);
  return 1;
}

/* integer field of the date table at index 1; d < 0 means required. Returns 0 on error (pending). */
static int getdatefield(pal_State *L, const char *key, int64_t d, int64_t *out) {
  pal_getfield(L, 1, key);
  if (pal_errpending(L)) return 0;
  int isnum = 0;
  double v = pal_tonumberx(L, -1, &isnum);
  pal_pop(L, 1);
  if (isnum) {
    if (!(v > -2147483649.0 && v < 2147483648.0)) return pal_errorf(L, "field '%s' is out-of-bound", key), 0;
    *out = (int64_t)v;
    return 1;
  }
  if (d < 0) return pal_errorf(L, "field '%s' missing in date table", key), 0;
  *out = d;
  return 1;
}

static int os_time(pal_State *L) {
  if (pal_type(L, 1) <= PAL_TNIL) {
    pal_pushnumber(L, floor(pal_host_now(1)));
    return 1;
  }
  pal_checktype(L, 1, PAL_TTABLE);
  if (pal_errpending(L)) return PAL_ERRSIG;
  pal_settop(L, 1);
  int64_t sec, min, hour, day, month, year;
  if (!getdatefield(L, "sec", 0, &sec) || !getdatefield(L, "min", 0, &min) || !getdatefield(L, "hour", 12, &hour) ||
      !getdatefield(L, "day", -1, &day) || !getdatefield(L, "month", -1, &month) ||
      !getdatefield(L, "year", -1, &year))
    return PAL_ERRSIG;
  int64_t t = time_from_civil(year, month, day, hour, min, sec);
  if (t < 0)
    pal_pushnil(L);
  else
    pal_pushnumber(L, (double)t);
  return 1;
}

static void setintfield(pal_State *L, const char *k, int64_t v) {
  pal_pushnumber(L, (double)v);
  pal_rawsetfield(L, -2, k);
}

static int os_date(pal_State *L) {
  size_t flen = 0;
  const char *fmt = pal_optlstring(L, 1, "%c", &flen);
  double tv = pal_type(L, 2) <= PAL_TNIL ? floor(pal_host_now(1)) : pal_checknumber(L, 2);
  if (pal_errpending(L)) return PAL_ERRSIG;
  int utc = 0;
  if (flen > 0 && fmt[0] == '!') {
    utc = 1;
    fmt++;
    flen--;
  }
  CivilTime ct;
  if (!date_breakdown(tv, utc, &ct)) {
    pal_pushnil(L);
    return 1;
  }
  if (flen >= 2 && fmt[0] == '*' && fmt[1] == 't') {
    pal_createtable(L, 0, 9);
    setintfield(L, "year", ct.year);
    setintfield(L, "month", ct.month);
    setintfield(L, "day", ct.day);
    setintfield(L, "hour", ct.hour);
    setintfield(L, "min", ct.min);
    setintfield(L, "sec", ct.sec);
    setintfield(L, "wday", ct.wday);
    setintfield(L, "yday", ct.yday);
    pal_pushboolean(L, 0);
    pal_rawsetfield(L, -2, "isdst");
    return 1;
  }
  DateOut measure = {NULL, 0};
  int64_t n = date_format(&measure, fmt, flen, &ct, utc);
  if (n < 0) return pal_argerror(L, 1, "invalid conversion specifier");
  if (pal_chargefuel(L, 1 + n / 32)) return PAL_ERRSIG;
  if (n == 0) {
    pal_pushlstring(L, "", 0);
    return 1;
  }
  uint8_t *scratch = pal_newbuffer(L, (size_t)n);
  if (scratch == NULL) return PAL_ERRSIG; /* memory error pending */
  DateOut w = {(char *)scratch, 0};
  date_format(&w, fmt, flen, &ct, utc);
  pal_pushlstring(L, (const char *)scratch, (size_t)n);
  return 1;
}

static const pal_Reg oslib[] = {
    {"clock", os_clock}, {"time", os_time}, {"date", os_date}, {"difftime", os_difftime}, {NULL, NULL}};

void pal_open_os(pal_State *L) {
  pal_register(L, "os", oslib);
  pal_pop(L, 1);
}
#endif /* PAL_LIBS_PURE */
