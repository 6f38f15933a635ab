/*
 * fuzz_compile.c - libFuzzer target for the front end: compile arbitrary bytes; never crash, leak or overflow,
 * and every Proto produced must pass the structural bytecode check below (registers within maxstacksize,
 * constants/protos/upvalues in range and of the right kind, jump targets inside the code and never on a
 * SETLIST data word, a final RETURN).
 *
 * guest/tests/front_test.c includes this file (with FUZZ_COMPILE_NO_ENTRY) to reuse proto_check().
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "object.h"
#include "opcodes.h"

/* returns NULL if ok, else a short description of the first problem */
static const char *proto_check(const Proto *p, const Proto *parent) {
  int n = p->sizecode, ms = p->maxstacksize, pc, i;
  const char *err;
  unsigned char *isdata;
  if (n <= 0 || p->code == NULL || p->lineinfo == NULL) return "empty code";
  if (p->numparams > ms) return "params above maxstacksize";
  if (GET_OP(p->code[n - 1]) != OP_RETURN) return "no final RETURN";
  for (i = 0; i < p->nups; i++) {
    if (parent == NULL) return "main chunk has upvalues";
    if (p->upvals[i].instack ? p->upvals[i].idx >= parent->maxstacksize : p->upvals[i].idx >= parent->nups)
      return "bad upvalue descriptor";
  }
  isdata = (unsigned char *)calloc((size_t)n, 1);
  if (!isdata) return NULL;
  for (pc = 0; pc < n; pc++)
    if (GET_OP(p->code[pc]) == OP_SETLIST) {
      if (pc + 1 >= n) {
        free(isdata);
        return "SETLIST without start word";
      }
      isdata[++pc] = 1;
    }
#define REG(r) \
  if ((r) < 0 || (r) >= ms) goto badreg
#define KIDX(x) \
  if ((x) < 0 || (x) >= p->sizek) goto badk
#define KSTR(x) \
  KIDX(x);      \
  if (!ttisstring(&p->k[x])) goto badk
#define JUMPTO(t) \
  if ((t) < 0 || (t) >= n || isdata[t]) goto badjump
  err = NULL;
  for (pc = 0; pc < n; pc++) {
    uint32_t ins = p->code[pc];
    int op = GET_OP(ins), a = GET_A(ins), b = GET_B(ins), c = GET_C(ins), bx = GET_Bx(ins);
    if (isdata[pc]) continue;
    switch (op) {
      case OP_NOP: break;
      case OP_MOVE: REG(a); REG(b); break;
      case OP_LOADNIL: REG(a); REG(a + b); break;
      case OP_LOADB:
        REG(a);
        if (c) JUMPTO(pc + 2);
        break;
      case OP_LOADN: REG(a); break;
      case OP_LOADK: REG(a); KIDX(bx); break;
      case OP_GETUPVAL:
      case OP_SETUPVAL:
        REG(a);
        if (b >= p->nups) goto badk;
        break;
      case OP_GETGLOBAL:
      case OP_SETGLOBAL: REG(a); KSTR(bx); break;
      case OP_GETTABLE:
      case OP_SETTABLE: REG(a); REG(b); REG(c); break;
      case OP_GETFIELD:
      case OP_SETFIELD: REG(a); REG(b); KSTR(c); break;
      case OP_GETINDEX:
      case OP_SETINDEX: REG(a); REG(b); break;
      case OP_NEWTABLE: REG(a); break;
      case OP_DUPTABLE:
        REG(a);
        if (bx >= p->sizeshapes) goto badk;
        break;
      case OP_SELF: REG(a); REG(a + 1); REG(b); KSTR(c); break;
      case OP_ADD: case OP_SUB: case OP_MUL: case OP_DIV: case OP_IDIV: case OP_MOD: case OP_POW:
        REG(a); REG(b); REG(c); break;
      case OP_ADDK: case OP_SUBK: case OP_MULK: case OP_DIVK: case OP_IDIVK: case OP_MODK: case OP_POWK:
        REG(a); REG(b); KIDX(c);
        if (!ttisnumber(&p->k[c])) goto badk;
        break;
      case OP_UNM: case OP_NOT: case OP_LEN: REG(a); REG(b); break;
      case OP_CONCAT:
        REG(a); REG(b); REG(c);
        if (b >= c) goto badreg;
        break;
      case OP_JMP: JUMPTO(pc + 1 + GET_sJ(ins)); break;
      case OP_EQ: case OP_LT: case OP_LE:
        REG(a); REG(b);
        JUMPTO(pc + 2);
        if (GET_OP(p->code[pc + 1]) != OP_JMP) goto badjump;
        break;
      case OP_EQK:
        REG(a); KIDX(b);
        if (ttistable(&p->k[b]) || ttisfunction(&p->k[b])) goto badk;
        JUMPTO(pc + 2);
        break;
      case OP_LTK: case OP_LEK: case OP_GTK: case OP_GEK:
        REG(a); KIDX(b);
        if (!ttisnumber(&p->k[b])) goto badk;
        JUMPTO(pc + 2);
        if (GET_OP(p->code[pc + 1]) != OP_JMP) goto badjump;
        break;
      case OP_TEST: REG(a); JUMPTO(pc + 2); break;
      case OP_TESTSET: REG(a); REG(b); JUMPTO(pc + 2); break;
      case OP_CALL:
        REG(a);
        if (b > 0) REG(a + b - 1);
        if (c > 1) REG(a + c - 2);
        break;
      case OP_RETURN:
        if (b > 1) {
          REG(a);
          REG(a + b - 2);
        }
        break;
      case OP_FORPREP:
      case OP_FORLOOP:
        REG(a + 3);
        JUMPTO(pc + 1 + GET_sBx(ins));
        break;
      case OP_TFORPREP:
      case OP_TFORLOOP:
        REG(a + 3);
        JUMPTO(pc + 1 + GET_sBx(ins));
        break;
      case OP_TFORCALL:
        REG(a + 2);
        if (c < 1) goto badreg;
        REG(a + 2 + c);
        break;
      case OP_SETLIST:
        REG(a);
        if (b > 1) REG(a + b - 1);
        if (p->code[pc + 1] < 1) goto badk;
        break;
      case OP_CLOSURE:
        REG(a);
        if (bx >= p->sizep) goto badk;
        break;
      case OP_CLOSE: REG(a); break;
      case OP_VARARG:
        REG(a);
        if (!p->is_vararg) goto badk;
        if (b > 1) REG(a + b - 2);
        break;
      default: err = "unknown opcode"; goto done;
    }
  }
  for (i = 0; i < p->sizep && !err; i++) err = proto_check(p->p[i], p);
  goto done;
badreg:
  err = "register out of range";
  goto done;
badk:
  err = "constant/upvalue/proto index out of range or of the wrong kind";
  goto done;
badjump:
  err = "bad jump target";
done:
  free(isdata);
  return err;
#undef REG
#undef KIDX
#undef KSTR
#undef JUMPTO
}

#ifndef FUZZ_COMPILE_NO_ENTRY
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  pal_State *L = pal_newstate(64 << 20);
  Proto *p;
  if (!L) return 0;
  p = pal_compile(L, (const char *)data, size, "=fuzz");
  if (p && proto_check(p, NULL)) abort();
  pal_close(L);
  return 0;
}
#endif
