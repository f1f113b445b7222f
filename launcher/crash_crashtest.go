//go:build crashtest

package launcher

import "os"

// CrashEnv names the step at which a launcher built with the crashtest tag
// kills itself, as a power cut or kill -9 would stop it.
const CrashEnv = "TUFUP_CRASH_AT"

// crashPoint kills the process, without any cleanup, when the step is the
// one named by TUFUP_CRASH_AT. Only builds tagged crashtest contain this.
func crashPoint(step string) {
	if os.Getenv(CrashEnv) != step {
		return
	}
	p, err := os.FindProcess(os.Getpid())
	if err == nil {
		p.Kill()
	}
	select {} // Kill is asynchronous on some systems; never go on.
}
