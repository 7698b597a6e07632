"""A layer tree group the plugin made, found again by a custom property each time it is needed.

The analyst may drag (clone, insert, delete), rename or remove the group at any time, and File > New
Project deletes every node: a `QgsLayerTreeGroup` kept in Python would then be a deleted C++ object.
`VideoLayerGroup` keeps only a key (stored on the node as `GROUP_KEY_PROPERTY`, which a clone keeps)
and layer ids, and recreates the group where it went missing.
"""

from __future__ import annotations

import uuid
from pathlib import Path

from qgis.core import QgsLayerTreeGroup, QgsMapLayer, QgsProject

from .core.definitions import GROUP_KEY_PROPERTY


def find_group(root: QgsLayerTreeGroup, key: str) -> QgsLayerTreeGroup | None:
    """The group under `root` (at any depth) whose key property is `key`, or None."""
    for group in root.findGroups(True):
        if group.customProperty(GROUP_KEY_PROPERTY) == key:
            return group
    return None


def video_group_title(root: QgsLayerTreeGroup, video_path: Path, key: str) -> str:
    """The file name of the video; with its parent folder ("clip2/video.ts") when another group (not the
    one with `key`) already carries the file name."""
    taken = any(
        group.name() == video_path.name and group.customProperty(GROUP_KEY_PROPERTY) != key
        for group in root.findGroups(True)
    )
    return f"{video_path.parent.name}/{video_path.name}" if taken else video_path.name


class VideoLayerGroup:
    """One group (of a video, or of a tracking run inside it) and the layers the plugin put in it."""

    def __init__(
        self,
        title: str,
        project: QgsProject | None = None,
        parent: "VideoLayerGroup | None" = None,
        key: str | None = None,
    ):
        self.title = title
        self.parent = parent
        self.project = project or (parent.project if parent is not None else QgsProject.instance())
        self.key = key or uuid.uuid4().hex
        self._layer_ids: list[str] = []
        self.node()

    def find(self) -> QgsLayerTreeGroup | None:
        """The group as it is in the layer tree now, or None when it was removed."""
        return find_group(self.project.layerTreeRoot(), self.key)

    def node(self) -> QgsLayerTreeGroup:
        """The group, recreated (inside its parent, recreated too) when it went missing."""
        group = self.find()
        if group is None:
            parent_node = self.parent.node() if self.parent is not None else self.project.layerTreeRoot()
            group = parent_node.insertGroup(0, self.title)
            group.setCustomProperty(GROUP_KEY_PROPERTY, self.key)
        return group

    def add(self, layer: QgsMapLayer, visible: bool = True) -> QgsMapLayer:
        self.project.addMapLayer(layer, False)
        self.node().addLayer(layer).setItemVisibilityChecked(visible)
        self._layer_ids.append(layer.id())
        return layer

    def layer(self, layer_id: str) -> QgsMapLayer | None:
        """A layer this group added, while it is still in the project."""
        return self.project.mapLayer(layer_id) if layer_id in self._layer_ids else None

    def layers(self) -> list[QgsMapLayer]:
        return [layer for layer in map(self.project.mapLayer, self._layer_ids) if layer is not None]

    def remove_layers(self, layer_ids) -> None:
        """Take these layers (of this group) out of the project; ids already gone are skipped."""
        gone = [i for i in layer_ids if self.project.mapLayer(i) is not None]
        if gone:
            self.project.removeMapLayers(gone)
        self._layer_ids = [i for i in self._layer_ids if i not in set(layer_ids)]

    def remove(self) -> None:
        """Remove the group with everything in it (also what the analyst added); harmless twice."""
        self.remove_layers(list(self._layer_ids))
        group = self.find()
        if group is not None and group.parent() is not None:
            group.parent().removeChildNode(group)

    @property
    def exists(self) -> bool:
        return self.find() is not None
