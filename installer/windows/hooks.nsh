; Berth's NSIS hooks (installer/tauri.windows.conf.json: bundle.windows.nsis.installerHooks).
; Install: put $INSTDIR (berth.exe, docker-credential-berth.exe, berth-compose.exe) on the
; user's PATH, then run the first-run setup (the `berth` docker context, the compose plugin).
; Uninstall: take the setup back and drop $INSTDIR from PATH. Berth's data (settings, the VM
; disk with the user's images and volumes, logs) stays unless the user runs
; `berth setup --undo --delete-data` first.

!macro NSIS_HOOK_POSTINSTALL
  nsExec::Exec `powershell -NoProfile -ExecutionPolicy Bypass -Command "$$p = [Environment]::GetEnvironmentVariable('Path', 'User'); if (-not $$p) { $$p = '' }; if (($$p -split ';') -notcontains '$INSTDIR') { [Environment]::SetEnvironmentVariable('Path', ($$p.TrimEnd(';') + ';$INSTDIR').TrimStart(';'), 'User') }"`
  nsExec::Exec `"$INSTDIR\berth.exe" setup`
!macroend

!macro NSIS_HOOK_PREUNINSTALL
  nsExec::Exec `"$INSTDIR\berth.exe" setup --undo`
  nsExec::Exec `powershell -NoProfile -ExecutionPolicy Bypass -Command "$$p = [Environment]::GetEnvironmentVariable('Path', 'User'); if ($$p) { [Environment]::SetEnvironmentVariable('Path', (($$p -split ';') | Where-Object { $$_ -and $$_ -ne '$INSTDIR' }) -join ';', 'User') }"`
!macroend
