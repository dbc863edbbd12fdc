"""A toolkit file served as a download, the same from the API and the pages."""

from __future__ import annotations

from django.http import FileResponse, Http404

from content.models import ToolkitItem


def file_response(item: ToolkitItem) -> FileResponse:
    """Serve a toolkit file as a download, with the type we checked and no sniffing.

    A curator may remove the item between the moment it was found and the moment its file
    is opened (the file goes when the removal commits): that download is a 404, as it
    would have been a moment later, never a 500.
    """
    try:
        handle = item.file.open("rb")
    except (FileNotFoundError, IsADirectoryError):
        raise Http404("This item has just been removed.") from None
    response = FileResponse(handle, as_attachment=True, filename=item.file_name)
    response["Content-Type"] = item.content_type or "application/octet-stream"
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response
