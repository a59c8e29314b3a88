"""METRC v2 JSON shapes (PascalCase, as the vendor answers) for facilities, packages and transfers."""

from __future__ import annotations

import zlib
from datetime import date, datetime
from decimal import Decimal

from reup_app.sandboxes.metrc.store import Delivery, DeliveryPackage, Facility, Package, Template, Transfer


def instant(value: datetime | None) -> str | None:
    return value.isoformat(timespec="seconds") if value else None


def day(value: date | None) -> str | None:
    return value.isoformat() if value else None


def number(value: Decimal | None) -> float | None:
    return float(value) if value is not None else None


def facility(f: Facility) -> dict:
    return {
        "HireDate": "0001-01-01",
        "IsOwner": False,
        "IsManager": True,
        "IsFinancialContact": False,
        "Occupations": [],
        "Name": f.name,
        "Alias": f.name,
        "DisplayName": f.name,
        "CredentialedDate": day(f.start_date),
        "SupportActivationDate": None,
        "SupportExpirationDate": None,
        "FacilityType": {"IsMedical": False, "IsRetail": True, "CanSellToConsumers": f.can_sell_to_consumers},
        "License": {
            "Number": f.license_number,
            "StartDate": day(f.start_date),
            "EndDate": day(f.end_date),
            "LicenseType": f.license_type,
        },
    }


def package(p: Package) -> dict:
    i = p.item
    return {
        "Id": p.id,
        "Label": p.label,
        "PackageType": "Product",
        "SourceHarvestNames": None,
        "LocationId": None,
        "LocationName": None,
        "LocationTypeName": None,
        "Quantity": number(p.quantity),
        "UnitOfMeasureName": i.unit,
        "UnitOfMeasureAbbreviation": {"Each": "ea", "Grams": "g", "Ounces": "oz", "Milliliters": "ml"}.get(i.unit),
        "PatientLicenseNumber": None,
        "ItemFromFacilityLicenseNumber": p.received_from_license or p.license_number,
        "ItemFromFacilityName": None,
        "Note": None,
        "PackagedDate": day(p.packaged_date),
        "InitialLabTestingState": "NotSubmitted",
        "LabTestingState": p.lab_state,
        "LabTestingStateDate": day(p.packaged_date),
        "IsProductionBatch": p.production_batch is not None,
        "ProductionBatchNumber": p.production_batch,
        "SourceProductionBatchNumbers": None,
        "SourcePackageLabels": None,
        "IsTradeSample": False,
        "IsDonation": False,
        "IsTestingSample": False,
        "ProductRequiresRemediation": False,
        "ContainsRemediatedProduct": False,
        "ReceivedDateTime": instant(p.received_at),
        "ReceivedFromManifestNumber": p.received_from_manifest,
        "ReceivedFromFacilityLicenseNumber": p.received_from_license,
        "ReceivedFromFacilityName": None,
        "IsOnHold": p.on_hold,
        "IsOnTrip": False,
        "IsOnRetailerDelivery": False,
        "IsFinished": p.finished,
        "FinishedDate": day(p.last_modified.date()) if p.finished else None,
        "ArchivedDate": None,
        "LastModified": instant(p.last_modified),
        "ExpirationDate": day(p.expiration_date),
        "SellByDate": None,
        "UseByDate": None,
        "Item": {
            "Id": zlib.crc32(f"{p.license_number}|{i.name}".encode()) % 10_000_000,
            "Name": i.name,
            "ProductCategoryName": i.category,
            "ProductCategoryType": "Buds" if i.category == "Flower" else "Other",
            "QuantityType": "CountBased" if i.unit == "Each" else "WeightBased",
            "UnitOfMeasureName": i.unit,
            "ApprovalStatus": "Approved",
            "StrainName": i.strain,
            "UnitThcPercent": number(i.thc_percent),
            "UnitCbdPercent": number(i.cbd_percent),
            "ItemBrandName": i.brand,
        },
    }


def _transporter(t: dict) -> dict:
    return {
        "TransporterFacilityLicenseNumber": t.get("TransporterFacilityLicenseNumber"),
        "TransporterFacilityName": None,
        "DriverName": t.get("DriverName"),
        "DriverOccupationalLicenseNumber": t.get("DriverOccupationalLicenseNumber"),
        "DriverVehicleLicenseNumber": t.get("DriverLicenseNumber"),
        "VehicleMake": t.get("VehicleMake"),
        "VehicleModel": t.get("VehicleModel"),
        "VehicleLicensePlateNumber": t.get("VehicleLicensePlateNumber"),
    }


def transfer_row(t: Transfer | Template, d: Delivery, shipper: Facility | None, recipient: Facility | None) -> dict:
    """One row of /transfers/v2/outgoing|incoming or /templates/outgoing (a transfer seen through one delivery)."""
    is_template = isinstance(t, Template)
    packages = [p for delivery in t.deliveries for p in delivery.packages]
    received = [p for p in packages if p.state != "Shipped"]
    return {
        "Id": t.id,
        "ManifestNumber": None if isinstance(t, Template) else t.manifest_number,
        "ShipmentLicenseType": 0,
        "ShipperFacilityLicenseNumber": t.license_number,
        "ShipperFacilityName": shipper.name if shipper else None,
        "Name": t.name if isinstance(t, Template) else None,
        **_transporter(t.transporter),
        "DeliveryCount": len(t.deliveries),
        "ReceivedDeliveryCount": sum(1 for x in t.deliveries if x.received_at),
        "PackageCount": len(packages),
        "ReceivedPackageCount": len(received),
        "ContainsPlantPackage": False,
        "ContainsProductPackage": True,
        "ContainsTradeSample": False,
        "ContainsDonation": False,
        "ContainsTestingSample": False,
        "ContainsProductRequiresRemediation": False,
        "ContainsRemediatedProductPackage": False,
        "IsVoided": False,
        "CreatedDateTime": instant(t.created),
        "CreatedByUserName": None,
        "LastModified": instant(t.last_modified),
        "DeliveryId": d.id,
        "RecipientFacilityLicenseNumber": d.recipient_license,
        "RecipientFacilityName": recipient.name if recipient else None,
        "ShipmentTypeName": d.transfer_type,
        "ShipmentTransactionType": "Wholesale" if d.transfer_type.startswith("Wholesale") else "Standard",
        "EstimatedDepartureDateTime": d.etd,
        "ActualDepartureDateTime": None if is_template else instant(t.created),
        "EstimatedArrivalDateTime": d.eta,
        "ActualArrivalDateTime": instant(d.received_at),
        "DeliveryPackageCount": len(d.packages),
        "DeliveryReceivedPackageCount": sum(1 for p in d.packages if p.state != "Shipped"),
        "ReceivedDateTime": instant(d.received_at),
        "EstimatedReturnDepartureDateTime": None,
        "ActualReturnDepartureDateTime": None,
        "EstimatedReturnArrivalDateTime": None,
        "ActualReturnArrivalDateTime": None,
    }


def delivery(d: Delivery, recipient: Facility | None) -> dict:
    return {
        "Id": d.id,
        "RecipientFacilityLicenseNumber": d.recipient_license,
        "RecipientFacilityName": recipient.name if recipient else None,
        "ShipmentTypeName": d.transfer_type,
        "ShipmentTransactionType": "Wholesale" if d.transfer_type.startswith("Wholesale") else "Standard",
        "EstimatedDepartureDateTime": d.etd,
        "ActualDepartureDateTime": None,
        "EstimatedArrivalDateTime": d.eta,
        "ActualArrivalDateTime": instant(d.received_at),
        "GrossWeight": None,
        "GrossUnitOfWeightId": None,
        "GrossUnitOfWeightName": None,
        "PlannedRoute": d.planned_route,
        "DeliveryPackageCount": len(d.packages),
        "DeliveryReceivedPackageCount": sum(1 for p in d.packages if p.state != "Shipped"),
        "ReceivedDateTime": instant(d.received_at),
        "EstimatedReturnDepartureDateTime": None,
        "ActualReturnDepartureDateTime": None,
        "EstimatedReturnArrivalDateTime": None,
        "ActualReturnArrivalDateTime": None,
        "RejectedPackagesReturned": any(p.state == "Rejected" for p in d.packages),
    }


def delivery_package(line: DeliveryPackage, p: Package) -> dict:
    return {
        "PackageId": line.package_id,
        "PackageLabel": line.label,
        "PackageType": "Product",
        "SourceHarvestNames": None,
        "SourcePackageLabels": None,
        "ItemId": 0,
        "ItemName": p.item.name,
        "ItemCategoryName": p.item.category,
        "ItemStrainName": p.item.strain,
        "ItemBrandName": p.item.brand,
        "LabTestingState": p.lab_state,
        "ProductionBatchNumber": p.production_batch,
        "IsTradeSample": False,
        "IsDonation": False,
        "IsTestingSample": False,
        "ProductRequiresRemediation": False,
        "ContainsRemediatedProduct": False,
        "RemediationDate": None,
        "ShipmentPackageState": line.state,
        "ShippedQuantity": number(line.shipped_quantity),
        "ShippedUnitOfMeasureName": line.unit,
        "GrossUnitOfWeightName": None,
        "ReceivedQuantity": number(line.received_quantity),
        "ReceivedUnitOfMeasureName": line.unit if line.received_quantity is not None else None,
    }


def wholesale_package(line: DeliveryPackage) -> dict:
    return {
        "PackageId": line.package_id,
        "PackageLabel": line.label,
        "ShipperWholesalePrice": number(line.wholesale_price),
        "ReceiverWholesalePrice": number(line.wholesale_price) if line.state == "Accepted" else None,
    }
