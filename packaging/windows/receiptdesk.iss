; Inno Setup 6 script for ReceiptDesk on Windows (x64). Built on Windows by build.ps1, beside this file:
;   the frozen bundle from packaging\receiptdesk.spec in dist\receiptdesk\, WinSW in build\winsw\.
;   ISCC.exe /DAppVersion=0.1.0 packaging\windows\receiptdesk.iss   ->  dist\receiptdesk-0.1.0-setup.exe
; Not built or tested on Linux: see README.md.

#ifndef AppVersion
  #define AppVersion "0.1.0"
#endif
#define Bundle "..\..\dist\receiptdesk"
#define WinSW "..\..\build\winsw\WinSW-x64.exe"
#define Data "{commonappdata}\ReceiptDesk"
; Well-known SIDs, the same in every language of Windows: Administrators, SYSTEM, LOCAL SERVICE.
#define Admins "*S-1-5-32-544"
#define System "*S-1-5-18"
#define LocalService "*S-1-5-19"

[Setup]
AppId={{4267FB23-89DD-4B79-8655-9572840B5C5C}
AppName=ReceiptDesk
AppVersion={#AppVersion}
AppPublisher=ReceiptDesk
DefaultDirName={autopf}\ReceiptDesk
DefaultGroupName=ReceiptDesk
DisableProgramGroupPage=yes
OutputDir=..\..\dist
OutputBaseFilename=receiptdesk-{#AppVersion}-setup
SetupIconFile=..\..\resources\receiptdesk.ico
UninstallDisplayIcon={app}\receiptdesk-kiosk.exe
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
PrivilegesRequired=admin
WizardStyle=modern
Compression=lzma2
SolidCompression=yes
CloseApplications=yes
RestartApplications=no

[Tasks]
Name: "autostart"; Description: "Start the kiosk when anyone logs in (a lane terminal)"; Flags: unchecked
Name: "service"; Description: "Install the ReceiptDesk service: serve as a Windows service (a hub, or a lane without a screen)"; Flags: unchecked

[Dirs]
; Settings, the database and the logs of the service, kept on uninstall and upgrade.
Name: "{#Data}"; Flags: uninsneveruninstall
Name: "{#Data}\data"; Flags: uninsneveruninstall
Name: "{#Data}\logs"; Flags: uninsneveruninstall
Name: "{#Data}\secrets"; Flags: uninsneveruninstall

[Files]
Source: "{#Bundle}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs
Source: "{#WinSW}"; DestDir: "{app}\service"; DestName: "receiptdesk-service.exe"; Flags: ignoreversion
Source: "receiptdesk-service.xml"; DestDir: "{app}\service"; Flags: ignoreversion
Source: "receiptdesk.toml"; DestDir: "{#Data}"; Flags: onlyifdoesntexist uninsneveruninstall

[Icons]
Name: "{autoprograms}\ReceiptDesk"; Filename: "{app}\receiptdesk-kiosk.exe"; WorkingDir: "{app}"
Name: "{commonstartup}\ReceiptDesk kiosk"; Filename: "{app}\receiptdesk-kiosk.exe"; WorkingDir: "{app}"; Tasks: autostart

[Run]
; Secrets: administrators and SYSTEM may change them, the service account may only read them, no one
; else sees them. The database and logs: the service account writes, users do not read.
Filename: "{sys}\icacls.exe"; Parameters: """{#Data}\secrets"" /inheritance:r /grant:r {#Admins}:(OI)(CI)F {#System}:(OI)(CI)F {#LocalService}:(OI)(CI)RX"; Flags: runhidden waituntilterminated
Filename: "{sys}\icacls.exe"; Parameters: """{#Data}\data"" /inheritance:r /grant:r {#Admins}:(OI)(CI)F {#System}:(OI)(CI)F {#LocalService}:(OI)(CI)M"; Flags: runhidden waituntilterminated
Filename: "{sys}\icacls.exe"; Parameters: """{#Data}\logs"" /inheritance:r /grant:r {#Admins}:(OI)(CI)F {#System}:(OI)(CI)F {#LocalService}:(OI)(CI)M"; Flags: runhidden waituntilterminated
; Installed, not started: `serve` refuses to start before [store] is set in receiptdesk.toml.
Filename: "{app}\service\receiptdesk-service.exe"; Parameters: "install"; Flags: runhidden waituntilterminated; Tasks: service; Check: not ServiceInstalled
Filename: "{app}\service\receiptdesk-service.exe"; Parameters: "refresh"; Flags: runhidden waituntilterminated; Check: ServiceInstalled
Filename: "{app}\receiptdesk-kiosk.exe"; Description: "Open ReceiptDesk"; Flags: nowait postinstall skipifsilent unchecked

[UninstallRun]
Filename: "{app}\service\receiptdesk-service.exe"; Parameters: "stop"; Flags: runhidden waituntilterminated; RunOnceId: "StopService"
Filename: "{app}\service\receiptdesk-service.exe"; Parameters: "uninstall"; Flags: runhidden waituntilterminated; RunOnceId: "UninstallService"

[Code]
var
  WasRunning: Boolean;

function ServiceWrapper(): String;
begin
  Result := ExpandConstant('{app}\service\receiptdesk-service.exe');
end;

function ServiceInstalled(): Boolean;
begin
  Result := RegKeyExists(HKLM, 'SYSTEM\CurrentControlSet\Services\receiptdesk');
end;

// An upgrade replaces the program under a running service: stop it first, start it again after.
function PrepareToInstall(var NeedsRestart: Boolean): String;
var
  Code: Integer;
begin
  Result := '';
  WasRunning := False;
  if ServiceInstalled() and FileExists(ServiceWrapper()) then
  begin
    // `find` exits 0 when it finds the word: the service is running now.
    WasRunning := Exec(ExpandConstant('{cmd}'), '/C sc.exe query receiptdesk | find "RUNNING"', '',
      SW_HIDE, ewWaitUntilTerminated, Code) and (Code = 0);
    if WasRunning then
      Exec(ServiceWrapper(), 'stop', '', SW_HIDE, ewWaitUntilTerminated, Code);
  end;
end;

procedure CurStepChanged(CurStep: TSetupStep);
var
  Code: Integer;
begin
  if (CurStep = ssPostInstall) and WasRunning then
    Exec(ServiceWrapper(), 'start', '', SW_HIDE, ewWaitUntilTerminated, Code);
end;
