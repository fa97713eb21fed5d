#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# models.sh - check the Spin models of models/ (docs/models.md).
#
# Usage: scripts/models.sh BUILD_DIR
#
# Every run below is one model, one configuration and one property, with the
# verdict it must reach: "pass" (Spin finds no error and the search is
# complete) or "catch" (a deliberately broken variant, BUG_*, that Spin must
# reject; a bug that goes unnoticed means the model proves nothing).  Each run
# gets its own directory under BUILD_DIR (spin -a, gcc pan.c, ./pan) and one
# verdict line with the states explored and the time the search took.  A
# failing run leaves its trail there; the line says how to replay it.
set -u

build=${1:?usage: models.sh BUILD_DIR}
root=$(cd "$(dirname "$0")/.." && pwd)
models="$root/models"
mkdir -p "$build"
build=$(cd "$build" && pwd)

command -v spin >/dev/null || { echo "models: spin not found (scripts/deps.sh installs it)"; exit 1; }
CC=${CC:-gcc}
# pan's memory ceiling in MB: a run that needs more is reported as incomplete,
# never left to eat a shared machine.  The largest run, cond-cancel-safety-3t,
# needs 1.1 GB since the mutex's unlock is two steps (its look, then the
# fetch_sub: models/mutex_impl.pml).
MEMLIM=${MODELS_MEMLIM:-2048}

failed=0
total_states=0
t_start=$(date +%s.%N)

# run NAME MODEL EXPECT PROPERTY DEFINES...
#   PROPERTY: "safety" (assertions + invalid end states) or "ltl:NAME"
#   (that LTL formula, with acceptance cycles under weak fairness).
run() {
	local name=$1 model=$2 expect=$3 property=$4
	shift 4
	local defines=("$@")
	local dir="$build/$name"
	rm -rf "$dir" && mkdir -p "$dir"
	local cflags=(-O0 -w -DMEMLIM="$MEMLIM") panflags=(-m2000000)
	# -DPAN_COLLAPSE (ignored by spin): compress the stored states (pan's
	# -DCOLLAPSE), for a run that would otherwise outgrow MEMLIM
	case " ${defines[*]} " in *" -DPAN_COLLAPSE "*) cflags+=(-DCOLLAPSE) ;; esac
	if [ "$property" = safety ]; then
		cflags+=(-DSAFETY)
	else
		panflags+=(-a -f -N "${property#ltl:}")
	fi
	if ! (cd "$dir" && spin "${defines[@]}" -a "$models/$model.pml" >spin.log 2>&1); then
		printf 'models: %-34s FAIL  spin -a failed (%s)\n' "$name" "$dir/spin.log"
		failed=$((failed + 1))
		return
	fi
	if ! (cd "$dir" && $CC "${cflags[@]}" -o pan pan.c >cc.log 2>&1); then
		printf 'models: %-34s FAIL  cannot compile pan.c (%s)\n' "$name" "$dir/cc.log"
		failed=$((failed + 1))
		return
	fi
	local t0 t1 secs out
	t0=$(date +%s.%N)
	(cd "$dir" && ./pan "${panflags[@]}" >pan.log 2>&1)
	t1=$(date +%s.%N)
	secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')
	out="$dir/pan.log"
	local errors states reason incomplete=""
	errors=$(sed -n 's/.*errors: \([0-9]*\).*/\1/p' "$out" | head -1)
	states=$(awk '/states, stored/ {print $1; exit}' "$out")
	reason=$(sed -n 's/^pan:1: \(.*\) (at depth.*/\1/p' "$out" | head -1)
	grep -q 'max search depth too small' "$out" && incomplete="search depth limit reached"
	grep -q 'reached -DMEMLIM bound' "$out" && incomplete="memory limit ($MEMLIM MB) reached"
	total_states=$((total_states + ${states:-0}))
	local what="${property}, ${defines[*]}"
	local verdict
	if [ -z "$errors" ]; then
		verdict="FAIL  no result from pan ($out)"
	elif [ "$expect" = pass ] && [ "$errors" = 0 ] && [ -z "$incomplete" ]; then
		verdict="pass   no error"
	elif [ "$expect" = pass ] && [ "$errors" = 0 ]; then
		verdict="FAIL  incomplete: $incomplete"
	elif [ "$expect" = pass ]; then
		verdict="FAIL  $reason; replay: cd $dir && spin -t -k $model.pml.trail -p ${defines[*]} $models/$model.pml"
	elif [ "$errors" != 0 ]; then
		verdict="caught $reason"
	else
		verdict="FAIL  bug NOT caught${incomplete:+ ($incomplete)}"
	fi
	case $verdict in FAIL*) failed=$((failed + 1)) ;; esac
	printf 'models: %-34s %-44s %9s states %6.2f s  [%s]\n' "$name" "$verdict" "${states:-?}" "$secs" "$what"
}

# ---- weft_mutex_t ---------------------------------------------------------
run mutex-safety-3t          mutex pass  safety       -DNTHREADS=3 -DITERS=1 -DTIMED -DUNLOCK_FAIR
run mutex-safety-2t          mutex pass  safety       -DNTHREADS=2 -DITERS=3 -DTIMED -DUNLOCK_FAIR
run mutex-fifo-safety-3t     mutex pass  safety       -DNTHREADS=3 -DITERS=1 -DTIMED -DUNLOCK_FAIR -DFIFO
run mutex-progress-3t        mutex pass  ltl:progress -DLIVENESS -DNTHREADS=3
run mutex-woken-2t           mutex pass  ltl:woken    -DLIVENESS -DNTHREADS=2
run mutex-BUG_UNLOCK_NO_WAKE mutex catch safety       -DNTHREADS=3 -DITERS=2 -DBUG_MUTEX_UNLOCK_NO_WAKE
run mutex-BUG_UNLOCK_NO_WAKE-woken mutex catch ltl:woken -DLIVENESS -DNTHREADS=2 -DBUG_MUTEX_UNLOCK_NO_WAKE
run mutex-BUG_WOKEN_TAKES_LOCKED mutex catch safety   -DNTHREADS=3 -DITERS=2 -DBUG_MUTEX_WOKEN_TAKES_LOCKED
run mutex-BUG_UNLOCK_NO_HANDOFF mutex catch safety    -DNTHREADS=3 -DITERS=2 -DBUG_MUTEX_UNLOCK_NO_HANDOFF
run mutex-BUG_FIFO_NO_HANDOFF mutex catch safety      -DNTHREADS=3 -DITERS=1 -DUNLOCK_FAIR -DFIFO -DBUG_MUTEX_UNLOCK_NO_HANDOFF
run mutex-BUG_GIVE_UP_DROPS_HANDOFF mutex catch safety -DNTHREADS=3 -DITERS=1 -DTIMED -DBUG_MUTEX_GIVE_UP_DROPS_HANDOFF
run mutex-BUG_BLIND_HANDOFF_KEPT mutex catch safety   -DNTHREADS=2 -DITERS=3 -DUNLOCK_FAIR -DBUG_MUTEX_BLIND_HANDOFF_KEPT
run mutex-BUG_FAST_UNLOCK_FREES_ANY mutex catch safety -DNTHREADS=3 -DITERS=2 -DBUG_MUTEX_FAST_UNLOCK_FREES_ANY
run mutex-fair-bypass-3t     mutex_fair pass  safety  -DNTHREADS=3 -DITERS=3
run mutex-fair-BUG_UNLOCK_NO_HANDOFF mutex_fair catch safety -DNTHREADS=3 -DITERS=2 -DBUG_MUTEX_UNLOCK_NO_HANDOFF
run mutex-fair-bypass-tight  mutex_fair catch safety  -DNTHREADS=3 -DITERS=3 -DBYPASS_MAX=1

# ---- weft_cond_t (with its mutex) ---------------------------------------------
run cond-round-safety-3t     cond  pass  safety       -DSCENARIO_ROUND -DNTHREADS=3 -DROUNDS=1
run cond-round-safety-2t     cond  pass  safety       -DSCENARIO_ROUND -DNTHREADS=2 -DROUNDS=2
run cond-prodcons-safety-3t  cond  pass  safety       -DSCENARIO_PRODCONS -DNTHREADS=3 -DPAN_COLLAPSE
run cond-rr-2t               cond  pass  ltl:rr       -DSCENARIO_ROUND -DLIVENESS -DNTHREADS=2
run cond-BUG_SEQ_AFTER_UNLOCK cond catch safety       -DSCENARIO_ROUND -DNTHREADS=3 -DROUNDS=1 -DBUG_COND_SEQ_AFTER_UNLOCK
run cond-BUG_SEQ_AFTER_UNLOCK-rr cond catch ltl:rr    -DSCENARIO_ROUND -DLIVENESS -DNTHREADS=2 -DBUG_COND_SEQ_AFTER_UNLOCK
run cond-BUG_SIGNAL_READS_SLEEPERS_FIRST cond catch safety -DSCENARIO_PRODCONS -DNTHREADS=3 -DBUG_COND_SIGNAL_READS_SLEEPERS_FIRST
run cond-BUG_REACQUIRE_LOCKED cond catch safety       -DSCENARIO_ROUND -DNTHREADS=3 -DROUNDS=1 -DBUG_COND_REACQUIRE_LOCKED
run cond-cancel-safety-3t    cond  pass  safety       -DSCENARIO_CANCEL -DNTHREADS=3 -DSPURIOUS=0 -DPAN_COLLAPSE
run cond-BUG_CANCEL_WINS     cond  catch safety       -DSCENARIO_CANCEL -DNTHREADS=3 -DSPURIOUS=0 -DPAN_COLLAPSE -DBUG_COND_CANCEL_WINS

# ---- weft_sem_t -----------------------------------------------------------
run sem-pool-safety-3t       sem   pass  safety       -DSCENARIO_POOL -DNTHREADS=3 -DITERS=2
run sem-handoff-safety-3t    sem   pass  safety       -DSCENARIO_HANDOFF -DNTHREADS=3
run sem-progress-3t          sem   pass  ltl:progress -DSCENARIO_POOL -DLIVENESS -DNTHREADS=3
run sem-woken-2t             sem   pass  ltl:woken    -DSCENARIO_POOL -DLIVENESS -DNTHREADS=2
run sem-BUG_POST_READS_WAITERS_FIRST sem catch safety -DSCENARIO_POOL -DNTHREADS=3 -DITERS=2 -DBUG_SEM_POST_READS_WAITERS_FIRST
run sem-BUG_POST_N_WAKES_ONE sem   catch safety       -DSCENARIO_HANDOFF -DNTHREADS=3 -DBUG_SEM_POST_N_WAKES_ONE
run sem-BUG_WAIT_UNCHECKED   sem   catch safety       -DSCENARIO_POOL -DNTHREADS=3 -DITERS=2 -DBUG_SEM_WAIT_UNCHECKED
run sem-pool-timeouts-safety-3t sem pass safety       -DSCENARIO_POOL -DNTHREADS=3 -DITERS=1 -DTIMEOUTS
run sem-served-3t            sem   pass  ltl:served   -DSCENARIO_POOL -DLIVENESS -DNTHREADS=3
run sem-BUG_CLAIM_IGNORED    sem   catch safety       -DSCENARIO_POOL -DNTHREADS=3 -DITERS=2 -DBUG_SEM_CLAIM_IGNORED
run sem-BUG_CLAIM_WAKES_N    sem   catch safety       -DSCENARIO_HANDOFF -DNTHREADS=3 -DBUG_SEM_CLAIM_WAKES_N
run sem-BUG_CLAIM_TAKE_NO_WAKE sem catch safety       -DSCENARIO_HANDOFF -DNTHREADS=3 -DBUG_SEM_CLAIM_TAKE_NO_WAKE

# ---- weft_rwlock_t: reader bias and the trywrlock's REVOKING ------------------
run rwlock-bias-safety-2r    rwlock_bias pass  safety -DNREADERS=2 -DITERS=2
run rwlock-bias-BUG_TRY_NO_RECHECK rwlock_bias catch safety -DNREADERS=2 -DITERS=2 -DBUG_RWB_TRY_NO_RECHECK
run rwlock-bias-BUG_TRY_NO_REBIAS rwlock_bias catch safety -DNREADERS=2 -DITERS=2 -DBUG_RWB_TRY_NO_REBIAS
run rwlock-bias-BUG_READER_NO_CHECK rwlock_bias catch safety -DNREADERS=2 -DITERS=2 -DBUG_RWB_READER_NO_CHECK

# ---- weft_brlock_t: the trywrlock's TRY/VETO ---------------------------------
run brlock-try-safety-2r     brlock_try pass  safety -DNREADERS=2 -DITERS=2
run brlock-try-BUG_CONFIRM_IGNORES_VETO brlock_try catch safety -DNREADERS=2 -DITERS=2 -DBUG_BRT_CONFIRM_IGNORES_VETO
run brlock-try-BUG_VETO_WITHOUT_TRY brlock_try catch safety -DNREADERS=2 -DITERS=2 -DBUG_BRT_VETO_WITHOUT_TRY

# ---- cancellable waits: futex_waitv and the registry fallback (issue 16) ------
run cancel-waitv-safety      cancel pass  safety       -DPATH_WAITV -DWITH_CHANGE -DNWAITERS=2
run cancel-registry-safety   cancel pass  safety       -DPATH_REGISTRY -DWITH_CHANGE -DNWAITERS=2
run cancel-waitv-done        cancel pass  ltl:done     -DPATH_WAITV -DWITH_CHANGE -DLIVENESS
run cancel-registry-done     cancel pass  ltl:done     -DPATH_REGISTRY -DWITH_CHANGE -DLIVENESS
run cancel-BUG_CANCEL_WAKE_FIRST cancel catch safety   -DPATH_WAITV -DBUG_CANCEL_WAKE_FIRST
run cancel-BUG_WAITV_OBJ_ONLY cancel catch safety      -DPATH_WAITV -DBUG_WAITV_OBJ_ONLY
run cancel-BUG_REG_ONE_WAKE  cancel catch safety       -DPATH_REGISTRY -DBUG_REG_ONE_WAKE
run cancel-BUG_REG_ONE_WAKE-done cancel catch ltl:done -DPATH_REGISTRY -DBUG_REG_ONE_WAKE -DLIVENESS
run cancel-BUG_REG_CHECK_FIRST cancel catch safety     -DPATH_REGISTRY -DBUG_REG_CHECK_FIRST

t_end=$(date +%s.%N)
elapsed=$(awk -v a="$t_start" -v b="$t_end" 'BEGIN { print b - a }')
if [ "$failed" -ne 0 ]; then
	printf 'models: %d run(s) FAILED (%d states in all, %.1f s with compiles)\n' "$failed" "$total_states" "$elapsed"
	exit 1
fi
printf 'models: all runs as expected: correct models pass, every bug variant caught (%d states in all, %.1f s with compiles)\n' \
	"$total_states" "$elapsed"
