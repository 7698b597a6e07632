<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="de_DE">
<context>
    <name>VideoDock</name>
    <message><source>Open video…</source><translation>Video öffnen…</translation></message>
    <message><source>Telemetry…</source><translation>Telemetrie…</translation></message>
    <message><source>Track</source><translation>Verfolgen</translation></message>
    <message><source>Stop</source><translation>Anhalten</translation></message>
    <message><source>Export GeoPackage…</source><translation>Als GeoPackage exportieren…</translation></message>
    <message><source>Remove box</source><translation>Rahmen entfernen</translation></message>
    <message><source>Clear boxes</source><translation>Alle Rahmen entfernen</translation></message>
    <message><source>Open folder</source><translation>Ordner öffnen</translation></message>
    <message><source>Folder…</source><translation>Ordner…</translation></message>
    <message><source>Output</source><translation>Ausgabe</translation></message>
    <message><source>Label</source><translation>Bezeichnung</translation></message>
    <message><source>No telemetry</source><translation>Keine Telemetrie</translation></message>
    <message><source>Add exported files to the project</source><translation>Exportierte Dateien dem Projekt hinzufügen</translation></message>
</context>
<context>
    <name>SiamMaskPlugin</name>
    <message><source>SiamMask FMV Tracker</source><translation>SiamMask FMV-Tracker</translation></message>
    <message><source>Settings…</source><translation>Einstellungen…</translation></message>
    <message><source>Python packages…</source><translation>Python-Pakete…</translation></message>
</context>
</TS>
