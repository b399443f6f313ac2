# Builds ReceiptDesk's Windows installer: dist\receiptdesk-<version>-setup.exe. Run on Windows (x64)
# from anywhere, with Python 3.11 (the `py` launcher) and Inno Setup 6 installed:
#   powershell -ExecutionPolicy Bypass -File packaging\windows\build.ps1 -WinSWSha256 <sha256>
# -WinSWSha256 is the SHA-256 of WinSW-x64.exe as published on WinSW's release page: the download is
# refused unless it matches. Not run on Linux: see README.md.
param(
    [string]$Version = "",
    [string]$WinSWVersion = "v2.12.0",
    [Parameter(Mandatory = $true)][string]$WinSWSha256,
    [string]$InnoSetup = "${env:ProgramFiles(x86)}\Inno Setup 6\ISCC.exe"
)
$ErrorActionPreference = "Stop"
$Root = (Resolve-Path "$PSScriptRoot\..\..").Path
$Venv = Join-Path $Root "build\freeze-venv"
$Python = Join-Path $Venv "Scripts\python.exe"

# 1. The build environment: the app as its wheel installs it (kiosk and PostgreSQL included), pinned
#    by constraints.txt, and the freezer.
if (-not (Test-Path $Python)) { py -3.11 -m venv $Venv }
& $Python -m pip install --disable-pip-version-check -r "$Root\packaging\requirements-freeze.txt"
if ($LASTEXITCODE) { throw "pip failed" }
& $Python -m pip install --disable-pip-version-check -c "$Root\constraints.txt" "$Root[kiosk,postgres]"
if ($LASTEXITCODE) { throw "pip failed" }
& $Python -m pip install --disable-pip-version-check --force-reinstall --no-deps "$Root"
if ($LASTEXITCODE) { throw "pip failed" }
if (-not $Version) { $Version = (& $Python -c "import app; print(app.__version__)").Trim() }

# 2. The frozen bundle: dist\receiptdesk\ with receiptdesk.exe (console: serve, the CLI) and
#    receiptdesk-kiosk.exe (no console: the Start-menu and autostart shortcuts).
& $Python -m PyInstaller --noconfirm --distpath "$Root\dist" --workpath "$Root\build\pyinstaller" "$Root\packaging\receiptdesk.spec"
if ($LASTEXITCODE) { throw "PyInstaller failed" }
# The app's own modules are plain files in the bundle (packaging\freeze_data.py): compile them once,
# since Program Files is not writable at run time.
& $Python -m compileall -q --invalidation-mode unchecked-hash "$Root\dist\receiptdesk\_internal\app"
if ($LASTEXITCODE) { throw "compileall failed" }
& "$Root\dist\receiptdesk\receiptdesk.exe" --version
if ($LASTEXITCODE) { throw "the frozen receiptdesk.exe does not start" }

# 3. WinSW, the service wrapper, checked against the given hash.
$WinSW = Join-Path $Root "build\winsw\WinSW-x64.exe"
New-Item -ItemType Directory -Force (Split-Path $WinSW) | Out-Null
Invoke-WebRequest -Uri "https://github.com/winsw/winsw/releases/download/$WinSWVersion/WinSW-x64.exe" -OutFile $WinSW
$Actual = (Get-FileHash $WinSW -Algorithm SHA256).Hash
if ($Actual -ne $WinSWSha256.ToUpper()) { Remove-Item $WinSW; throw "WinSW-x64.exe has SHA-256 $Actual, not $WinSWSha256" }

# 4. The installer.
& $InnoSetup "/DAppVersion=$Version" (Join-Path $PSScriptRoot "receiptdesk.iss")
if ($LASTEXITCODE) { throw "Inno Setup failed" }
Write-Host "dist\receiptdesk-$Version-setup.exe"
