"""Models inside QGIS: the user's model folder in the QGIS profile, and background tasks that download
(QGIS's own network stack, so the user's proxy and authentication settings apply) or convert a model,
then make it the active one in the settings.

The worker thread downloads with a thread-local QgsNetworkAccessManager and its own event loop into
`NAME.part` (resumed with a Range request where the server allows), then hands the file to the engine's
checks and conversion (`core.models.install`), exactly as the headless `models fetch` does.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

from qgis.core import QgsApplication, QgsNetworkAccessManager, QgsTask
from qgis.PyQt.QtCore import QCoreApplication, QEventLoop, QTimer, QUrl, pyqtSignal
from qgis.PyQt.QtNetwork import QNetworkReply, QNetworkRequest

from .core.definitions import MODEL_EXPORT_SUFFIX, QGIS_MODEL_SUBDIR
from .core.errors import DownloadCancelled, DownloadError, SiamMaskError
from .core.models.catalogue import CatalogueEntry
from .settings import load_settings, save_settings

DOWNLOAD_SHARE = 90  # percent of the task's progress bar for the download; the rest is the conversion
DOWNLOAD_ATTEMPTS = 3


def tr(text: str) -> str:
    return QCoreApplication.translate("ModelTasks", text)


def user_model_dir() -> Path:
    """The models folder in the QGIS profile (kept when the plugin is upgraded or reinstalled)."""
    return Path(QgsApplication.qgisSettingsDirPath()) / QGIS_MODEL_SUBDIR


@dataclass(frozen=True)
class ModelTaskResult:
    """What a model task ended with: the new active model, or why not."""

    model_path: Path | None
    cancelled: bool = False
    message: str = ""


class _ModelTask(QgsTask):
    """A task producing a model file in the background; on success the model becomes the active one."""

    modelReady = pyqtSignal(object)  # ModelTaskResult, emitted on the main thread by finished()

    def __init__(self, description: str, model_dir: Path):
        super().__init__(description, QgsTask.Flag.CanCancel)
        self.model_dir = Path(model_dir)
        self.result: ModelTaskResult | None = None

    def work(self) -> Path:
        raise NotImplementedError

    def run(self) -> bool:
        try:
            self.result = ModelTaskResult(self.work())
        except DownloadCancelled as error:
            self.result = ModelTaskResult(None, True, error.user_message)
        except SiamMaskError as error:
            self.result = ModelTaskResult(None, False, error.user_message)
        return self.result.model_path is not None

    def finished(self, result: bool) -> None:  # main thread
        outcome = self.result or ModelTaskResult(None, self.isCanceled(), tr("the task stopped unexpectedly"))
        if outcome.model_path is not None:
            save_settings(dataclasses.replace(load_settings(), model_path=str(outcome.model_path)))
        self.modelReady.emit(outcome)


class ModelFetchTask(_ModelTask):
    """Download a catalogue checkpoint into the model folder, check and convert it, make it active."""

    def __init__(self, entry: CatalogueEntry, model_dir: Path | None = None):
        super().__init__(tr("Downloading the SiamMask model {}").format(entry.name), model_dir or user_model_dir())
        self.entry = entry

    def work(self) -> Path:
        from .core.models.install import convert_model_file, install_download, partial_path

        checkpoint = self.model_dir / self.entry.checkpoint_file
        if checkpoint.is_file():  # downloaded before (or put there by hand): convert only
            return convert_model_file(checkpoint, self.model_dir / self.entry.model_file, self.entry.url)
        part = partial_path(self.model_dir, self.entry)
        self.model_dir.mkdir(parents=True, exist_ok=True)
        last_error = ""
        for _ in range(DOWNLOAD_ATTEMPTS):
            complete, last_error = self._request(self.entry.url, part)
            if complete:
                self.setProgress(DOWNLOAD_SHARE)
                return install_download(part, self.entry, self.model_dir, self.entry.url)
        resumable = part.is_file() and part.stat().st_size > 0  # else there is nothing to resume
        text = tr("cannot download {url} ({error}); try again to resume") if resumable else tr(
            "cannot download {url} ({error})")
        raise DownloadError(text.format(url=self.entry.url, error=last_error))

    def _request(self, url: str, part: Path) -> tuple[bool, str]:
        """One GET from the partial file's end: (whole file there, what went wrong)."""
        from .core.models.download import check_not_a_web_page, total_bytes

        offset = part.stat().st_size if part.exists() else 0
        request = QNetworkRequest(QUrl(url))
        request.setAttribute(  # FollowRedirectsAttribute is gone in Qt6; this policy is in Qt 5.9+ and 6
            QNetworkRequest.Attribute.RedirectPolicyAttribute,
            QNetworkRequest.RedirectPolicy.NoLessSafeRedirectPolicy,
        )
        if offset:
            request.setRawHeader(b"Range", f"bytes={offset}-".encode())
        reply = QgsNetworkAccessManager.instance().get(request)
        state = {"out": None, "done": offset, "total": None, "error": None}

        def receive() -> None:
            block = bytes(reply.readAll())
            if state["out"] is None:
                status = reply.attribute(QNetworkRequest.Attribute.HttpStatusCodeAttribute)
                if status is not None and int(status) >= 400:
                    return  # reported after the loop, with the reply's error
                headers = {bytes(k).decode("latin-1"): bytes(reply.rawHeader(k)).decode("latin-1")
                           for k in reply.rawHeaderList()}
                try:
                    check_not_a_web_page(url, headers.get("Content-Type", ""), block)
                except DownloadError as error:
                    state["error"] = error
                    reply.abort()
                    return
                resumed = offset > 0 and status is not None and int(status) == 206
                state["done"] = offset if resumed else 0
                state["total"] = total_bytes(headers, state["done"])
                state["out"] = open(part, "ab" if resumed else "wb")  # noqa: SIM115 (closed below)
            state["out"].write(block)
            state["done"] += len(block)
            if state["total"]:
                self.setProgress(DOWNLOAD_SHARE * state["done"] / state["total"])

        loop = QEventLoop()
        watch = QTimer()
        watch.timeout.connect(lambda: reply.abort() if self.isCanceled() else None)
        reply.readyRead.connect(receive)
        reply.finished.connect(loop.quit)
        watch.start(100)
        if not reply.isFinished():
            loop.exec()
        watch.stop()
        if reply.bytesAvailable():
            receive()
        if state["out"] is not None:
            state["out"].close()
        status = reply.attribute(QNetworkRequest.Attribute.HttpStatusCodeAttribute)
        failure, message = reply.error(), reply.errorString()
        reply.deleteLater()
        if self.isCanceled():
            raise DownloadCancelled(tr("download of {} cancelled; the next try resumes it").format(url), path=part)
        if state["error"] is not None:
            raise state["error"]
        if status is not None and int(status) >= 400:
            raise DownloadError(tr("cannot download {url}: HTTP {status}").format(url=url, status=int(status)))
        if failure != QNetworkReply.NetworkError.NoError:
            return False, message
        complete = state["out"] is not None and (state["total"] is None or state["done"] >= state["total"])
        return complete, "" if complete else tr("the connection closed before the end of the file")


class ModelConvertTask(_ModelTask):
    """Convert a file the user picked (official .pth, trained checkpoint, TorchScript .pt, torch.export
    .pt2) into the model folder as NAME.pt (NAME.pt2 for a .pt2: it keeps its format), make it active."""

    def __init__(self, source: Path, model_dir: Path | None = None):
        super().__init__(tr("Converting {} to a SiamMask model").format(Path(source).name),
                         model_dir or user_model_dir())
        self.source = Path(source)

    def work(self) -> Path:
        from .core.models.install import convert_model_file

        self.setProgress(10)
        suffix = MODEL_EXPORT_SUFFIX if self.source.suffix == MODEL_EXPORT_SUFFIX else ".pt"
        return convert_model_file(self.source, self.model_dir / f"{self.source.stem}{suffix}")
